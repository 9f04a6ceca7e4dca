/**
 * Distinctive secrets through every command and a full canary, then a scan of every output, log
 * and file written: none may hold a secret, except the 0600 worker .env and the 0600 key file
 * the operator wrote themselves.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { deriveWalletToken } from "../../lib/core/token.ts";
import { CANARY_BIN, requireBinaries, run, WORKER_BIN } from "../helpers/binaries.ts";

requireBinaries();

const dir = mkdtempSync(join(tmpdir(), "basis-secret-scan-"));
const home = join(dir, "home");
mkdirSync(home);
const tag = randomBytes(6).toString("hex");
const KEY_HEX = randomBytes(32).toString("hex");
const WALLET = privateKeyToAccount(`0x${KEY_HEX}`).address;
const SECRETS: Record<string, string> = {
  BASIS_ORCHESTRATOR_SECRET: `scan-dispatch-${tag}-Qx7`,
  BASIS_WORKER_AUTH_KEY: `scan-authkey-${tag}-Zr2`,
  INTERNAL_API_SECRET: `scan-internal-${tag}-Wm9`,
  BASIS_OPENAI_API_KEY: `scan-openai-${tag}-Kp4`,
  BASIS_VLLM_API_KEY: `scan-vllm-${tag}-Jd3`,
  BASIS_WORKER_PRIVATE_KEY: KEY_HEX,
};
// Temp files too land under the scanned folder (the canary makes and removes its own there).
const BASE_ENV = { HOME: home, XDG_STATE_HOME: join(home, "state"), XDG_CONFIG_HOME: join(home, "config"), TMPDIR: join(dir, "tmp") };
mkdirSync(BASE_ENV.TMPDIR);

/** Every text any process printed, by who printed it. */
const outputs: { who: string; text: string }[] = [];

interface Logged {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  text: () => string;
  waitFor: (pattern: RegExp, ms: number) => Promise<void>;
}

function spawnLogged(who: string, argv: string[], env: Record<string, string>): Logged {
  const proc = Bun.spawn(argv, { env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", ...BASE_ENV, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const entry = { who, text: "" };
  outputs.push(entry);
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) entry.text += decoder.decode(chunk, { stream: true });
  };
  void drain(proc.stdout);
  void drain(proc.stderr);
  return {
    proc,
    text: () => entry.text,
    async waitFor(pattern, ms) {
      const until = Date.now() + ms;
      while (!pattern.test(entry.text)) {
        if (Date.now() > until || proc.exitCode !== null) throw new Error(`${who}: no ${pattern} in: ${entry.text.slice(-400)}`);
        await Bun.sleep(20);
      }
    },
  };
}

async function command(who: string, argv: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const result = await run(argv, { ...BASE_ENV, ...env }, 60_000);
  outputs.push({ who, text: result.stdout + result.stderr });
  return result;
}

function filesUnder(root: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

const children: Bun.Subprocess[] = [];
afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

describe("secrets through every command", () => {
  test("no output, log or file holds a secret, except the operator's own 0600 .env and key file", async () => {
    const token = await deriveWalletToken(SECRETS.BASIS_WORKER_AUTH_KEY as string, WALLET);
    const needles = { ...SECRETS, BASIS_WORKER_TOKEN: token, TOKEN_SIGNATURE: token.split(".").at(-1) as string };

    // The orchestrator, with every server-side secret set.
    const portFile = join(dir, "port");
    const orchestrator = spawnLogged("basis-canary serve", [CANARY_BIN, "serve", "--host", "127.0.0.1", "--port", "0", "--port-file", portFile, "--data", join(dir, "data")], {
      BASIS_ORCHESTRATOR_SECRET: SECRETS.BASIS_ORCHESTRATOR_SECRET as string,
      BASIS_WORKER_AUTH_KEY: SECRETS.BASIS_WORKER_AUTH_KEY as string,
      INTERNAL_API_SECRET: SECRETS.INTERNAL_API_SECRET as string,
    });
    children.push(orchestrator.proc);
    await orchestrator.waitFor(/listening on/, 15_000);
    const url = `http://127.0.0.1:${readFileSync(portFile, "utf8").trim()}`;
    const base = { BASIS_BASE_URL: url };

    // A fake OpenAI-compatible backend the worker sends its API key to.
    const backendPortFile = join(dir, "backend-port");
    const backend = spawnLogged("fake backend", [process.execPath, resolve(import.meta.dir, "../../bench/fake-openai.ts"), "--port-file", backendPortFile], {});
    children.push(backend.proc);
    for (let i = 0; i < 750 && !(await Bun.file(backendPortFile).exists()); i++) await Bun.sleep(20);
    const backendUrl = `http://127.0.0.1:${readFileSync(backendPortFile, "utf8").trim()}`;

    // setup writes the .env (0600); the operator then fills in the secrets, as the template says.
    const envFile = join(home, "worker.env");
    const setup = await command("setup --write-env", [WORKER_BIN, "setup", "--write-env", "--out", envFile, "--wallet", WALLET, "--worker-id", "scan-worker", "--runtime", "openai", "--orchestrator", url.replace("http", "ws"), "--backend-url", backendUrl, "--backend-model", "bench-model", "--models", "bench-model"], SECRETS);
    expect(setup.code).toBe(0);
    appendFileSync(envFile, `BASIS_WORKER_AUTH_KEY=${SECRETS.BASIS_WORKER_AUTH_KEY}\nBASIS_OPENAI_API_KEY=${SECRETS.BASIS_OPENAI_API_KEY}\nBASIS_WORKER_CONCURRENCY=2\n`);
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    await command("setup --check", [WORKER_BIN, "setup", "--check", "--json"], SECRETS);

    expect((await command("register", [WORKER_BIN, "register", "--wallet", WALLET, "--worker-id", "scan-worker", "--runtime", "openai", "--models", "bench-model", "--json"], { ...SECRETS, ...base })).code).toBe(0);

    const worker = spawnLogged("start", [WORKER_BIN, "start", "--env-file", envFile], { ...base, BASIS_VLLM_API_KEY: SECRETS.BASIS_VLLM_API_KEY as string, BASIS_WORKER_PRIVATE_KEY: KEY_HEX });
    children.push(worker.proc);
    await worker.waitFor(/connected: worker/, 20_000);

    // Jobs through the network, whole and streamed, and the internal verification job.
    const auth = { authorization: `Bearer ${SECRETS.BASIS_ORCHESTRATOR_SECRET}`, "content-type": "application/json" };
    for (const stream of [false, true]) {
      const res = await fetch(`${url}/v1/dispatch`, { method: "POST", headers: auth, body: JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "hi" }], max_tokens: 8, stream }) });
      outputs.push({ who: `dispatch stream=${stream}`, text: JSON.stringify([...res.headers]) + (await res.text()) });
      expect(res.status).toBe(200);
    }
    const wrong = await fetch(`${url}/v1/dispatch`, { method: "POST", headers: { ...auth, authorization: `Bearer ${SECRETS.BASIS_ORCHESTRATOR_SECRET}x` }, body: "{}" });
    outputs.push({ who: "dispatch with a wrong secret", text: await wrong.text() });
    const verification = await fetch(`${url}/api/workers/scan-worker/verification`, { method: "POST", headers: { authorization: `Bearer ${SECRETS.INTERNAL_API_SECRET}` } });
    outputs.push({ who: "verification route", text: await verification.text() });
    expect(verification.status).toBe(200);

    // A price manifest signed with the key from a 0600 file, and from the environment.
    const keyFile = join(home, "reward.key");
    writeFileSync(keyFile, `${KEY_HEX}\n`, { mode: 0o600 });
    const prices = join(home, "prices.json");
    copyFileSync(resolve(import.meta.dir, "../../templates/prices.example.json"), prices);
    expect((await command("price publish --key-file", [WORKER_BIN, "price", "publish", "--worker-id", "scan-worker", "--prices", prices, "--key-file", keyFile, "--json"], { ...SECRETS, ...base })).code).toBe(0);
    await command("price publish --key-env --dry-run", [WORKER_BIN, "price", "publish", "--worker-id", "scan-worker", "--prices", prices, "--dry-run"], { ...SECRETS, ...base });

    for (const args of [["status", "--worker-id", "scan-worker", "--rewards", "--onboarding"], ["status", "--worker-id", "scan-worker", "--rewards", "--onboarding", "--json"], ["healthcheck", "--worker-id", "scan-worker"]]) {
      expect((await command(args.join(" "), [WORKER_BIN, ...args], { ...SECRETS, ...base })).code).toBe(0);
    }
    await command("service install", [WORKER_BIN, "service", "install", "--user", "--env-file", envFile, "--unit-dir", join(home, "units"), "--binary", WORKER_BIN, "--json"], SECRETS);

    // Secrets where they do not belong: refused, never echoed.
    await command("register with a key as the wallet", [WORKER_BIN, "register", "--wallet", KEY_HEX, "--worker-id", "scan-worker"], { ...SECRETS, ...base });
    await command("start with a key as the worker id", [WORKER_BIN, "start"], { ...SECRETS, BASIS_WORKER_WALLET: WALLET, BASIS_WORKER_ID: KEY_HEX });
    await command("start with a refused token", [WORKER_BIN, "start"], { ...base, BASIS_ORCHESTRATOR_URL: url, BASIS_WORKER_WALLET: WALLET, BASIS_WORKER_ID: "scan-other", BASIS_WORKER_TOKEN: `${token}x` });

    expect((await command("stop", [WORKER_BIN, "stop", "--worker-id", "scan-worker", "--wait", "20"], SECRETS)).code).toBe(0);
    expect(await worker.proc.exited).toBe(0);

    // The full canary, and the worker's canary command, with every secret in their environment.
    const full = await command("basis-canary --json", [CANARY_BIN, "--json", "--worker-bin", WORKER_BIN], SECRETS);
    expect(full.code).toBe(0);
    expect((await command("basis-worker canary", [WORKER_BIN, "canary"], SECRETS)).code).toBe(0);

    orchestrator.proc.kill("SIGTERM");
    await orchestrator.proc.exited;
    backend.proc.kill("SIGTERM");
    await backend.proc.exited;

    // The scan: every output, then every file written under the run's folder.
    const allowed = new Set([envFile, keyFile]);
    const found: string[] = [];
    for (const { who, text } of outputs) {
      for (const [name, value] of Object.entries(needles)) if (text.includes(value)) found.push(`${name} in the output of ${who}`);
    }
    const files = filesUnder(dir).filter((path) => !allowed.has(path));
    for (const path of files) {
      const bytes = readFileSync(path).toString("latin1");
      for (const [name, value] of Object.entries(needles)) if (bytes.includes(value)) found.push(`${name} in ${relative(dir, path)}`);
    }
    expect(found).toEqual([]);
    for (const path of allowed) expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(files.some((path) => path.endsWith("basis.sqlite"))).toBe(true);
    console.log(`reliability: secret scan: ${Object.keys(needles).length} secrets, ${outputs.length} outputs and ${files.length} files scanned, none found`);
  }, 120_000);
});
