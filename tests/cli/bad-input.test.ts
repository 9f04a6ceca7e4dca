import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { requireBinaries } from "../helpers/binaries.ts";
import { startDeadUrl } from "../fakes/helpers.ts";
import { expectNoSecrets, KEY, makeScratch, PHRASE_12, PHRASE_24, WALLET, worker } from "./_cli.ts";

requireBinaries();

/** A real HTTP server that answers every request one way and counts what reached it. */
interface Counting {
  url: string;
  hits: number;
  server: Server;
}

async function countingServer(status: number, body: string, type = "application/json"): Promise<Counting> {
  const counting = { url: "", hits: 0, server: undefined as unknown as Server };
  counting.server = createServer((req, res) => {
    counting.hits++;
    req.resume();
    res.writeHead(status, { "content-type": type });
    res.end(body);
  });
  await new Promise<void>((resolve) => counting.server.listen(0, "127.0.0.1", resolve));
  counting.url = `http://127.0.0.1:${(counting.server.address() as AddressInfo).port}`;
  return counting;
}

const scratch = makeScratch("bad-input");
const outDir = join(scratch.dir, "out");
const existing = join(scratch.dir, "existing.env");
let recorder: Counting;
let failing: Counting;
let html: Counting;
let deadUrl: string;

beforeAll(async () => {
  Bun.spawnSync(["mkdir", "-p", outDir]);
  writeFileSync(existing, "KEEP=me\n");
  recorder = await countingServer(201, JSON.stringify({ worker: { worker_id: "x" }, created: true }));
  failing = await countingServer(500, JSON.stringify({ error: "internal_error" }));
  html = await countingServer(200, "<html><body>Sign in</body></html>", "text/html");
  deadUrl = await startDeadUrl();
});
afterAll(() => {
  for (const counting of [recorder, failing, html]) counting?.server.close();
  scratch.cleanup();
});

const BAD_CHECKSUM = "0x52908400098527886E0F7030069857D2E4169Ee7";
const OUT = () => join(outDir, "worker.env");
const register = (wallet: string, id = "bad-input-1", extra: string[] = []) => () => ["register", "--wallet", wallet, "--worker-id", id, "--base", recorder.url, ...extra];
const writeEnv = (overrides: Record<string, string>, extra: string[] = []) => () => {
  const flags = { wallet: WALLET, runtime: "echo", orchestrator: "ws://127.0.0.1:8787", out: OUT(), ...overrides };
  return ["setup", "--write-env", ...Object.entries(flags).flatMap(([name, value]) => [`--${name}`, value]), ...extra];
};

interface Case {
  name: string;
  argv: () => string[];
  exit: number;
  code: string;
  /** Text the message must contain, beyond the code. */
  says?: string;
  /** Requests the recorder may see (0: refused before sending). */
  sent?: number;
  check?: () => void;
}

const cases: Case[] = [
  { name: "a 64-hex key as --wallet", argv: register(KEY), exit: 2, code: "secret_refused", says: "Never share it" },
  { name: "a 0x+64-hex key as --wallet", argv: register(`0x${KEY}`), exit: 2, code: "secret_refused" },
  { name: "a 12-word phrase as --wallet", argv: register(PHRASE_12), exit: 2, code: "secret_refused" },
  { name: "a 24-word phrase as --wallet", argv: register(PHRASE_24), exit: 2, code: "secret_refused" },
  { name: "a bad EIP-55 checksum", argv: register(BAD_CHECKSUM), exit: 2, code: "wallet_checksum", says: "checksum" },
  { name: "an empty wallet", argv: register(""), exit: 2, code: "usage_missing_value", says: "--wallet needs a value" },
  { name: "a wallet with spaces inside", argv: register("0x5290840009 8527886e0f7030069857d2e4169ee7"), exit: 2, code: "wallet_malformed" },
  { name: "a short wallet", argv: register("0x1234"), exit: 2, code: "wallet_malformed", says: "40-hex" },
  { name: "an over-long worker id", argv: register(WALLET, "w".repeat(64)), exit: 2, code: "worker_id_malformed" },
  { name: "a worker id with spaces", argv: register(WALLET, "my gpu"), exit: 2, code: "worker_id_malformed" },
  { name: "a key as the worker id", argv: register(WALLET, KEY), exit: 2, code: "secret_refused" },
  { name: "an unknown runtime", argv: register(WALLET, "bad-input-1", ["--runtime", "tgi"]), exit: 2, code: "runtime_unknown", says: "echo, ollama, vllm, llamacpp, openai" },
  { name: "a key among the models", argv: register(WALLET, "bad-input-1", ["--models", `basis-default,0x${KEY}`]), exit: 2, code: "secret_refused" },
  { name: "a malformed --base", argv: () => ["register", "--wallet", WALLET, "--worker-id", "bad-input-1", "--base", "basis.watch"], exit: 2, code: "base_url_malformed" },
  { name: "a --base with credentials", argv: () => ["status", "--worker-id", "bad-input-1", "--base", "https://op:hunter2@basis.example"], exit: 2, code: "base_url_malformed" },
  {
    name: "an unreachable base URL (a closed port)",
    argv: () => ["register", "--wallet", WALLET, "--worker-id", "bad-input-1", "--base", deadUrl],
    exit: 1,
    code: "api_unreachable",
    says: "(3 tries)",
  },
  {
    name: "a server that always answers 500 (retried, bounded)",
    argv: () => ["register", "--wallet", WALLET, "--worker-id", "bad-input-1", "--base", failing.url],
    exit: 1,
    code: "api_server_error",
    says: "HTTP 500 (3 tries)",
    // One read of the earlier record (to report what changes), then the 3 tries of the registration.
    check: () => expect(failing.hits).toBe(4),
  },
  {
    name: "a non-JSON answer",
    argv: () => ["status", "--worker-id", "bad-input-1", "--base", html.url],
    exit: 1,
    code: "api_bad_response",
    says: "not JSON",
    check: () => expect(html.hits).toBe(1),
  },
  { name: "a status worker id that is over-long", argv: () => ["status", "--worker-id", "x".repeat(70), "--base", recorder.url], exit: 2, code: "worker_id_malformed" },
  { name: "setup: a key as --wallet", argv: writeEnv({ wallet: `0x${KEY}` }), exit: 2, code: "secret_refused" },
  { name: "setup: a 24-word phrase as --worker-id", argv: writeEnv({ "worker-id": PHRASE_24 }), exit: 2, code: "secret_refused" },
  { name: "setup: an unknown runtime", argv: writeEnv({ runtime: "llamafile" }), exit: 2, code: "runtime_unknown" },
  { name: "setup: a malformed orchestrator URL", argv: writeEnv({ orchestrator: "ftp://orchestrator" }), exit: 2, code: "orchestrator_url_malformed", says: "--orchestrator" },
  { name: "setup: an orchestrator URL that is not a URL", argv: writeEnv({ orchestrator: "not a url" }), exit: 2, code: "orchestrator_url_malformed" },
  { name: "setup: a missing --out directory", argv: writeEnv({ out: join(scratch.dir, "no-such-dir", "worker.env") }), exit: 2, code: "out_dir_missing" },
  {
    name: "setup: an existing --out file without --force",
    argv: writeEnv({ out: existing }),
    exit: 2,
    code: "out_exists",
    says: "left unchanged",
    check: () => expect(readFileSync(existing, "utf8")).toBe("KEEP=me\n"),
  },
  { name: "setup: no --out", argv: () => ["setup", "--write-env", "--wallet", WALLET, "--runtime", "echo", "--orchestrator", "ws://127.0.0.1:8787"], exit: 2, code: "out_missing" },
  { name: "setup: --check and --write-env together", argv: writeEnv({}, ["--check"]), exit: 2, code: "setup_mode_conflict" },
  { name: "setup: --backend-model for the echo runtime", argv: writeEnv({ "backend-model": "llama3.2" }), exit: 2, code: "backend_flag_unused" },
  { name: "setup: a malformed --backend-url", argv: writeEnv({ runtime: "ollama", "backend-url": "file:///etc/passwd" }), exit: 2, code: "backend_url_malformed" },
];

describe("bad input is refused with a stable code, nothing echoed, nothing sent or written", () => {
  test("the table covers at least 20 cases", () => expect(cases.length).toBeGreaterThanOrEqual(20));

  for (const item of cases) {
    test(item.name, async () => {
      const before = recorder.hits;
      const result = await worker(item.argv(), scratch.env);
      expect(result.code).toBe(item.exit);
      expect(result.stderr).toContain(`error [${item.code}]`);
      if (item.says) expect(result.stderr).toContain(item.says);
      expect(result.stdout).toBe("");
      expectNoSecrets(result);
      expect(`${result.stdout}${result.stderr}`).not.toContain("hunter2");
      expect(recorder.hits - before).toBe(item.sent ?? 0);
      expect(readdirSync(outDir)).toEqual([]);
      item.check?.();
    });
  }
});

describe("basis-worker healthcheck on failure", () => {
  const failures: [string, () => string[]][] = [
    ["an unreachable base URL", () => ["healthcheck", "--worker-id", "bad-input-1", "--base", deadUrl]],
    ["a server that answers 500 (one try only)", () => ["healthcheck", "--worker-id", "bad-input-1", "--base", failing.url]],
    ["an over-long worker id", () => ["healthcheck", "--worker-id", "w".repeat(70), "--base", recorder.url]],
    ["a malformed --base", () => ["healthcheck", "--worker-id", "bad-input-1", "--base", "nope"]],
  ];
  for (const [name, argv] of failures) {
    test(`${name}: exit 1, exactly one line, fast`, async () => {
      const hitsBefore = failing.hits;
      const result = await worker(argv(), scratch.env);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^unhealthy: [^\n]+\n$/);
      expect(result.stderr).toBe("");
      expectNoSecrets(result);
      // Fast means one try, no retries with backoff.
      expect(failing.hits - hitsBefore).toBeLessThanOrEqual(1);
    });
  }
});
