import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deriveWalletToken } from "../../lib/core/token.ts";
import type { Orchestrator } from "../../lib/orchestrator/server.ts";
import { binaryEnv, requireBinaries, run, WORKER_BIN, watchOutput } from "../helpers/binaries.ts";
import { startTestOrchestrator, WALLET, waitUntil } from "../helpers/harness.ts";

requireBinaries();

const KEY = `0x${"4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"}`;
const PHRASE = "legal winner thank year wave sausage worth useful legal winner thank yellow";
const AUTH_KEY = "e2e-auth-key-0123456789abcdef-not-a-real-secret";

let orchestrator: Orchestrator;
let dir: string;
beforeAll(async () => {
  orchestrator = await startTestOrchestrator({ policy: { authKey: AUTH_KEY } });
  dir = await mkdtemp(join(tmpdir(), "basis-e2e-"));
});
afterAll(async () => {
  await orchestrator.close();
  await rm(dir, { recursive: true, force: true });
});

describe("basis-worker --version and --help", () => {
  test("--version prints version, commit and target", async () => {
    const result = await run([WORKER_BIN, "--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^basis-worker \d+\.\d+\.\d+ \(commit [0-9a-f]{7,}|unknown, target [a-z]+-[a-z0-9]+\)\n$/);
  });
  test("--help lists the commands; start --help lists its flags", async () => {
    const root = await run([WORKER_BIN, "--help"]);
    expect(root.code).toBe(0);
    expect(root.stdout).toContain("start");
    const start = await run([WORKER_BIN, "start", "--help"]);
    expect(start.stdout).toContain("--env-file");
  });
});

describe("basis-worker start refuses bad settings at once (exit 2, value never echoed)", () => {
  const cases: [string, Record<string, string>, string, string?][] = [
    ["no wallet", {}, "wallet_missing"],
    ["a private key as wallet", { BASIS_WORKER_WALLET: KEY }, "secret_refused", KEY.slice(2)],
    ["a seed phrase as wallet", { BASIS_WORKER_WALLET: PHRASE }, "secret_refused", "sausage"],
    ["a key in BASIS_WORKER_ID", { BASIS_WORKER_WALLET: WALLET, BASIS_WORKER_ID: KEY }, "secret_refused", KEY.slice(2)],
    ["a malformed wallet", { BASIS_WORKER_WALLET: "0x1234" }, "wallet_malformed"],
    ["an unknown runtime", { BASIS_WORKER_WALLET: WALLET, BASIS_WORKER_RUNTIME: "tgi" }, "runtime_unknown"],
  ];
  for (const [name, env, code, secret] of cases) {
    test(name, async () => {
      const result = await run([WORKER_BIN, "start"], env, 5_000);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`error [${code}]`);
      if (secret) expect(result.stdout + result.stderr).not.toContain(secret);
    });
  }
  test("a missing env file", async () => {
    const result = await run([WORKER_BIN, "start", "--env-file", join(dir, "nope.env")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("env_file_missing");
  });
});

describe("basis-worker start against a real orchestrator", () => {
  test("a wrong token is refused: exit 3 with the reason, never online", async () => {
    const token = await deriveWalletToken("another-key", WALLET);
    const result = await run([WORKER_BIN, "start"], {
      BASIS_WORKER_WALLET: WALLET,
      BASIS_WORKER_ID: "e2e-refused",
      BASIS_ORCHESTRATOR_URL: orchestrator.url,
      BASIS_WORKER_TOKEN: token,
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("token_invalid");
    expect(result.stderr).not.toContain(token.split(".")[1]);
    expect(await orchestrator.store.getWorker("e2e-refused")).toBeUndefined();
  });

  test("from an env file: connects, heartbeats, logs no secret, drains on SIGTERM and exits 0", async () => {
    const envFile = join(dir, "worker.env");
    await writeFile(
      envFile,
      [`BASIS_WORKER_WALLET=${WALLET}`, "BASIS_WORKER_ID=e2e-worker", `BASIS_ORCHESTRATOR_URL=${orchestrator.url.replace("http", "ws")}`, `BASIS_WORKER_AUTH_KEY=${AUTH_KEY}`].join("\n"),
    );
    await chmod(envFile, 0o600);
    const proc = Bun.spawn([WORKER_BIN, "start", "--env-file", envFile], {
      env: binaryEnv({ BASIS_HEARTBEAT_MS: "100" }),
      stdout: "pipe",
      stderr: "pipe",
    });
    const stderr = watchOutput(proc.stderr);
    await waitUntil("worker online", () => orchestrator.registry.get("e2e-worker") !== undefined, 10_000);
    const res = await fetch(`${orchestrator.url}/v1/dispatch`, {
      method: "POST",
      body: JSON.stringify({ model: "basis-default", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(200);
    // The heartbeat line (every 100 ms here) that counts the job, however long the machine takes to print it.
    await stderr.waitFor(/heartbeat: connected, worker e2e-worker, idle, 1 jobs completed/, "a heartbeat counting the job");
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    const log = await stderr.done;
    expect(log).toContain(`wallet ${WALLET}`);
    expect(log).toContain("stopped cleanly");
    expect(log).not.toContain(AUTH_KEY);
    const token = await deriveWalletToken(AUTH_KEY, WALLET);
    expect(log).not.toContain(token.split(".")[1]);
    await waitUntil("offline", () => orchestrator.registry.get("e2e-worker") === undefined);
  }, 30_000);
});
