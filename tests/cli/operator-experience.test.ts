/**
 * Issue 14, item by item: what a first-time operator hit, as a table of command lines with the
 * exit code, the stream and the words each must produce. Every row runs the compiled
 * `basis-worker` (or `basis-canary`) against real servers on 127.0.0.1: a dev-mode orchestrator
 * and API, one that requires an auth key, a fake Ollama, a slow OpenAI-compatible backend, an
 * HTML server, a port that accepts and never answers, and a closed port. NO_COLOR is not set:
 * piped output must carry no colour by itself.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import type { Orchestrator } from "../../lib/orchestrator/server.ts";
import { type FakeOllama, startFakeOllama } from "../fakes/fake-ollama.ts";
import { startDeadUrl } from "../fakes/helpers.ts";
import { CANARY_BIN, requireBinaries, ROOT, type RunResult, WORKER_BIN } from "../helpers/binaries.ts";
import { startTestOrchestrator } from "../helpers/harness.ts";
import { DEFAULT_MODEL_OFFER, throwawayKey } from "../helpers/prices.ts";
import { expectNoSecrets, KEY, makeScratch, OTHER_WALLET, PHRASE_12, stopChild, WALLET, waitFor } from "./_cli.ts";

requireBinaries();

const scratch = makeScratch("operator");
const AUTH_KEY = "k".repeat(40);
let dev: Orchestrator;
let guarded: Orchestrator;
let ollama: FakeOllama;
let sickOllama: FakeOllama;
let slowBackend: ReturnType<typeof Bun.serve>;
let htmlServer: ReturnType<typeof Bun.serve>;
let silent: Server;
let silentPort = 0;
let deadUrl: string;
const children: ChildProcess[] = [];
const ws = (o: Orchestrator) => o.url.replace(/^http/, "ws");

/** The environment of every run: no inherited BASIS_*, no NO_COLOR, a private state folder. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BASIS_") && k !== "NO_COLOR" && k !== "FORCE_COLOR")) as Record<string, string>;
  return { ...base, ...scratch.env, ...extra };
}

async function bin(program: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  const proc = Bun.spawn([program, ...args], { cwd: scratch.dir, env: cleanEnv(env), stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 25_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}
const worker = (args: string[], env?: Record<string, string>) => bin(WORKER_BIN, args, env);

/**
 * A long-running command, watched until its stderr matches `until` (then it is stopped, and
 * `code` is null: it was still running, retrying) or until it exits by itself.
 */
async function watch(program: string, args: string[], until: RegExp, env: Record<string, string> = {}, ms = 20_000): Promise<RunResult> {
  const child = spawn(program, args, { cwd: scratch.dir, env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let code: number | null = null;
  let done = false;
  void exited.then((c) => {
    code = c;
    done = true;
  });
  await waitFor(`${args.join(" ")} to print ${until}`, ms, () => (done || until.test(stderr) ? true : undefined));
  const running = !done;
  if (running) await stopChild(child);
  else await exited;
  return { code: running ? null : code, stdout, stderr };
}

function envFile(name: string, lines: Record<string, string>): string {
  const path = join(scratch.dir, name);
  writeFileSync(path, `${Object.entries(lines).map(([k, v]) => `${k}=${v}`).join("\n")}\n`, { mode: 0o600 });
  return path;
}

const echoEnv = (id: string, orchestrator: string, extra: Record<string, string> = {}) =>
  envFile(`${id}.env`, { BASIS_WORKER_WALLET: WALLET, BASIS_WORKER_ID: id, BASIS_WORKER_RUNTIME: "echo", BASIS_ORCHESTRATOR_URL: orchestrator, ...extra });

async function workerView(o: Orchestrator, id: string): Promise<{ online: boolean; available: boolean } | undefined> {
  const res = await fetch(`${o.url}/api/workers/${id}`);
  return res.status === 200 ? ((await res.json()) as { worker: { online: boolean; available: boolean } }).worker : undefined;
}

/** Connection failures, each a `start` watched until its first complaint: run all at once. */
const connections: Record<string, Promise<RunResult>> = {};
let sick: ChildProcess;
let draining: RunResult;

beforeAll(async () => {
  mkdirSync(join(scratch.dir, "a-directory"), { recursive: true });
  dev = await startTestOrchestrator({});
  guarded = await startTestOrchestrator({ policy: { authKey: AUTH_KEY } });
  ollama = startFakeOllama({ models: { "llama3.2": { tokens: ["hi"] } } });
  sickOllama = startFakeOllama({ models: { "llama3.2": { tokens: ["hi"] } } });
  deadUrl = await startDeadUrl();
  htmlServer = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("<html>a web site</html>", { headers: { "content-type": "text/html" } }) });
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  slowBackend = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      if (path === "/v1/models") return Response.json({ object: "list", data: [{ id: "slow-model", object: "model" }] });
      // A job that never finishes on its own: the worker has one in flight while it drains.
      await Promise.race([held, new Promise((resolve) => request.signal.addEventListener("abort", resolve))]);
      return new Response("", { status: 499 });
    },
  });
  silent = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  silentPort = (silent.address() as { port: number }).port;

  const html = `http://127.0.0.1:${htmlServer.port}`;
  const failing: Record<string, [string, RegExp]> = {
    refused: [deadUrl.replace("http", "ws"), /cannot reach/],
    dns: ["ws://no-such-host.invalid:8787", /cannot reach/],
    tls: [`wss://127.0.0.1:${htmlServer.port}`, /cannot reach/],
    "not socket.io": [`${html.replace("http", "ws")}/basis?token=hunter2`, /cannot reach/],
    timeout: [`ws://127.0.0.1:${silentPort}`, /cannot reach/],
    cluster: [`${deadUrl.replace("http", "ws")},ws://no-such-host.invalid:8787`, /no-such-host\.invalid:8787: the host name was not found/],
    // A refusal ends start by itself: watch it until it exits.
    "bad credentials": [ws(guarded), /(?!)/],
  };
  for (const [name, [url, until]] of Object.entries(failing)) {
    const extra: Record<string, string> = name === "bad credentials" ? { BASIS_WORKER_AUTH_KEY: "not-the-key-at-all-but-long-enough-to-pass" } : {};
    connections[name] = watch(WORKER_BIN, ["start", "--env-file", echoEnv(`conn-${name.replace(/\W/g, "-")}`, url, extra)], until, {}, 25_000);
  }

  // A worker whose backend dies after it connected: online, but unable to serve.
  await worker(["register", "--wallet", WALLET, "--worker-id", "op-sick", "--runtime", "ollama", "--base", dev.url]);
  sick = spawn(WORKER_BIN, ["start", "--env-file", echoEnv("op-sick", ws(dev), { BASIS_WORKER_RUNTIME: "ollama", BASIS_OLLAMA_URL: sickOllama.url, BASIS_OLLAMA_MODEL: "llama3.2", BASIS_HEALTH_POLL_MS: "100" })], {
    cwd: scratch.dir,
    env: cleanEnv(),
    stdio: "ignore",
  });
  children.push(sick);
  await waitFor("op-sick online", 15_000, async () => ((await workerView(dev, "op-sick"))?.online ? true : undefined));
  sickOllama.setHealthy(false);
  await waitFor("op-sick unavailable", 15_000, async () => ((await workerView(dev, "op-sick"))?.available === false ? true : undefined));

  // A worker with a job in flight gets SIGINT twice: the second must say what it does.
  const slowEnv = echoEnv("op-drain", ws(dev), { BASIS_WORKER_RUNTIME: "openai", BASIS_OPENAI_URL: `http://127.0.0.1:${slowBackend.port}/v1`, BASIS_OPENAI_MODEL: "slow-model", BASIS_WORKER_MODELS: "basis-drain" });
  const drainer = spawn(WORKER_BIN, ["start", "--env-file", slowEnv], { cwd: scratch.dir, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
  children.push(drainer);
  let drainLog = "";
  drainer.stderr?.on("data", (chunk: Buffer) => (drainLog += chunk.toString()));
  const drainExit = new Promise<number | null>((resolve) => drainer.once("exit", (code) => resolve(code)));
  await waitFor("op-drain online", 15_000, async () => ((await workerView(dev, "op-drain"))?.available ? true : undefined));
  const job = new AbortController();
  void fetch(`${dev.url}/v1/dispatch`, { method: "POST", signal: job.signal, headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "basis-drain", messages: [{ role: "user", content: "hi" }] }) }).catch(() => {});
  await waitFor("the job to reach the backend", 15_000, async () => ((await workerView(dev, "op-drain")) as { activeJobs?: number } | undefined)?.activeJobs === 1 ? true : undefined);
  drainer.kill("SIGINT");
  await waitFor("the drain to start", 10_000, () => (/draining: waiting for 1 job/.test(drainLog) ? true : undefined));
  drainer.kill("SIGINT");
  draining = { code: await drainExit, stdout: "", stderr: drainLog };
  job.abort();
  release();
}, 120_000);

afterAll(async () => {
  await Promise.all(children.map(stopChild));
  await Promise.all([dev?.close(), guarded?.close(), ollama?.close(), sickOllama?.close()]);
  slowBackend?.stop(true);
  htmlServer?.stop(true);
  silent?.close();
  scratch.cleanup();
});

interface Row {
  /** The issue's item number. */
  item: number;
  name: string;
  run: () => Promise<RunResult>;
  /** null: still running (retrying) when the expected line appeared. */
  exit: number | null;
  stream: "stdout" | "stderr";
  says: (string | RegExp)[];
  /** The other stream must be empty. */
  quiet?: boolean;
  check?: (result: RunResult) => void | Promise<void>;
}

const USAGE = (command: string) => new RegExp(`^usage: basis-worker ${command} `, "m");
const registered = (id: string, extra: string[] = []) => worker(["register", "--wallet", WALLET, "--worker-id", id, "--base", dev.url, ...extra]);

const rows: Row[] = [
  // 1. Missing flags are usage errors, not internal errors.
  ...(["status", "register", "healthcheck", "price publish"] as const).map(
    (command): Row => ({
      item: 1,
      name: `${command} with no worker id`,
      run: () => worker([...command.split(" "), ...(command === "price publish" ? ["--prices", "p.json"] : []), ...(command === "register" ? ["--wallet", WALLET] : [])]),
      exit: 2,
      stream: "stderr",
      says: ["error [usage_missing_flag]", "needs --worker-id (or --env-file", USAGE(command)],
      quiet: true,
    }),
  ),
  {
    item: 1,
    name: "status --json with no worker id: a usage error as JSON, not internal_error",
    run: () => worker(["status", "--json"]),
    exit: 2,
    stream: "stdout",
    says: ['"error": "usage_missing_flag"', '"usage": "usage: basis-worker status'],
    check: (r) => expect(r.stdout).not.toContain("internal_error"),
  },
  // 2. healthcheck fails when the worker cannot serve; --json works.
  {
    item: 2,
    name: "healthcheck on a worker whose backend died",
    run: () => worker(["healthcheck", "--worker-id", "op-sick", "--base", dev.url]),
    exit: 1,
    stream: "stdout",
    says: [/^unhealthy: worker op-sick is online but cannot serve \(its backend is down/],
    quiet: true,
  },
  {
    item: 2,
    name: "healthcheck --json on that worker",
    run: () => worker(["healthcheck", "--worker-id", "op-sick", "--base", dev.url, "--json"]),
    exit: 1,
    stream: "stdout",
    says: ['"healthy": false', '"reason": "cannot_serve"', '"online": true', '"available": false'],
    quiet: true,
  },
  {
    item: 2,
    name: "healthcheck --json on a registered worker that is offline",
    run: async () => (await registered("op-offline"), worker(["healthcheck", "--worker-id", "op-offline", "--base", dev.url, "--json"])),
    exit: 1,
    stream: "stdout",
    says: ['"reason": "offline"'],
    quiet: true,
  },
  // 3. One identity: --worker-id in setup, and the env file read by every command.
  {
    item: 3,
    name: "setup --write-env --worker-id writes that id, then status --env-file reads it",
    run: async () => {
      const out = join(scratch.dir, "identity.env");
      const setup = await worker(["setup", "--write-env", "--wallet", WALLET, "--worker-id", "op-identity", "--runtime", "echo", "--orchestrator", ws(dev), "--out", out]);
      expect(setup.code).toBe(0);
      expect(readFileSync(out, "utf8")).toContain("BASIS_WORKER_ID=op-identity\n");
      expect((await worker(["register", "--env-file", out])).code).toBe(0);
      return worker(["status", "--env-file", out]);
    },
    exit: 0,
    stream: "stdout",
    says: [/^Worker\s+op-identity$/m, /^Status\s+offline$/m],
    quiet: true,
  },
  {
    item: 3,
    name: "a flag wins over the env file",
    run: async () => (await registered("op-flag"), worker(["status", "--env-file", join(scratch.dir, "identity.env"), "--worker-id", "op-flag"])),
    exit: 0,
    stream: "stdout",
    says: [/^Worker\s+op-flag$/m],
  },
  {
    item: 3,
    name: "price publish --env-file signs and posts for the worker and API of that file",
    run: async () => {
      const { key, wallet } = throwawayKey("basis-worker operator-experience price key");
      const out = join(scratch.dir, "priced.env");
      await worker(["setup", "--write-env", "--wallet", wallet, "--worker-id", "op-priced", "--runtime", "echo", "--orchestrator", ws(dev), "--out", out]);
      expect((await worker(["register", "--env-file", out])).code).toBe(0);
      writeFileSync(join(scratch.dir, "prices.json"), JSON.stringify({ hardware: { gpu: "RTX 4090" }, models: [DEFAULT_MODEL_OFFER] }));
      return worker(["price", "publish", "--env-file", out, "--prices", "prices.json", "--json"], { BASIS_WORKER_PRIVATE_KEY: key });
    },
    exit: 0,
    stream: "stdout",
    says: ['"worker_id": "op-priced"', '"state": "self_reported"'],
  },
  {
    item: 3,
    name: "stop --env-file names the worker of that file",
    run: () => worker(["stop", "--env-file", join(scratch.dir, "identity.env")]),
    exit: 1,
    stream: "stderr",
    says: ["error [worker_not_running]: Worker op-identity is not running"],
    quiet: true,
  },
  // 4. Self-hosting: the env file's API base is the orchestrator's own.
  {
    item: 4,
    name: "setup --write-env for a self-hosted orchestrator writes a matching BASIS_BASE_URL",
    run: () => worker(["setup", "--write-env", "--wallet", WALLET, "--runtime", "echo", "--orchestrator", ws(dev), "--out", join(scratch.dir, "self.env")]),
    exit: 0,
    stream: "stdout",
    says: [/BASIS_BASE_URL=http:\/\/127\.0\.0\.1:\d+: a self-hosted orchestrator serves the Basis API on its own port/],
    check: () => expect(readFileSync(join(scratch.dir, "self.env"), "utf8")).toContain(`BASIS_BASE_URL=${dev.url}\n`),
  },
  {
    item: 4,
    name: "the public network's orchestrator keeps the default API base",
    run: () => worker(["setup", "--write-env", "--wallet", WALLET, "--runtime", "echo", "--orchestrator", "wss://orchestrator.basis.watch", "--out", join(scratch.dir, "public.env"), "--json"]),
    exit: 0,
    stream: "stdout",
    says: ['"base": null'],
    check: () => expect(readFileSync(join(scratch.dir, "public.env"), "utf8")).toContain("BASIS_BASE_URL=https://basis.watch\n"),
  },
  {
    item: 4,
    name: "healthcheck --env-file needs no --base",
    run: async () => {
      const out = join(scratch.dir, "self-id.env");
      await worker(["setup", "--write-env", "--wallet", WALLET, "--worker-id", "op-self", "--runtime", "echo", "--orchestrator", ws(dev), "--out", out]);
      await worker(["register", "--env-file", out]);
      return worker(["healthcheck", "--env-file", out]);
    },
    exit: 1,
    stream: "stdout",
    says: ["unhealthy: worker op-self is offline"],
    quiet: true,
  },
  // 5. The onboarding state needs no worker id.
  {
    item: 5,
    name: "status --onboarding without a worker id",
    run: () => worker(["status", "--onboarding", "--base", dev.url]),
    exit: 0,
    stream: "stdout",
    says: [/^Onboarding$/m, /^Job routing\s+enabled/m, "Settlement is gated"],
    quiet: true,
    check: (r) => expect(r.stdout).not.toContain("This worker"),
  },
  // 6. Unknown flags and commands, no arguments, version.
  { item: 6, name: "status --jsno", run: () => worker(["status", "--jsno"]), exit: 2, stream: "stderr", says: ["error [usage_unknown_flag]: Unknown flag --jsno.", "did you mean --json?", USAGE("status")], quiet: true },
  {
    item: 6,
    name: "start --env-fil x",
    run: () => worker(["start", "--env-fil", "x"]),
    exit: 2,
    stream: "stderr",
    says: ["Unknown flag --env-fil.", "did you mean --env-file?", USAGE("start")],
    quiet: true,
  },
  { item: 6, name: "an unknown command", run: () => worker(["stauts"]), exit: 2, stream: "stderr", says: ['Unknown command "stauts".', "did you mean basis-worker status?", /^usage: basis-worker <setup\|/m], quiet: true },
  { item: 6, name: "a flag without its value", run: () => worker(["status", "--worker-id"]), exit: 2, stream: "stderr", says: ["error [usage_missing_value]: --worker-id needs a value."], quiet: true },
  { item: 6, name: "a stray word", run: () => worker(["status", "my-gpu-1"]), exit: 2, stream: "stderr", says: ['Unexpected argument "my-gpu-1".', "every value follows its flag"], quiet: true },
  { item: 6, name: "a key as a stray word is refused, not echoed", run: () => worker(["healthcheck", KEY]), exit: 2, stream: "stderr", says: ["error [secret_refused]"], quiet: true },
  { item: 6, name: "a key where a command goes is refused, not echoed", run: () => worker([KEY]), exit: 2, stream: "stderr", says: ["error [secret_refused]"], quiet: true },
  { item: 6, name: "an unquoted seed phrase where a command goes is refused", run: () => worker(PHRASE_12.split(" ")), exit: 2, stream: "stderr", says: ["error [secret_refused]"], quiet: true },
  { item: 6, name: "no arguments prints the usage", run: () => worker([]), exit: 0, stream: "stdout", says: ["USAGE basis-worker", "register", "healthcheck"], quiet: true },
  { item: 6, name: "version", run: () => worker(["version"]), exit: 0, stream: "stdout", says: [/^basis-worker \d+\.\d+\.\d+ \(commit \w+, target [\w-]+\)\n$/], quiet: true },
  {
    item: 6,
    name: "--version --json",
    run: () => worker(["--version", "--json"]),
    exit: 0,
    stream: "stdout",
    says: ['"name": "basis-worker"', '"version": "'],
    quiet: true,
    check: (r) => expect(Object.keys(JSON.parse(r.stdout))).toEqual(["name", "version", "commit", "target"]),
  },
  { item: 6, name: "basis-canary version --json", run: () => bin(CANARY_BIN, ["version", "--json"]), exit: 0, stream: "stdout", says: ['"name": "basis-canary"'], quiet: true },
  // 7. Connection failures: the URL (redacted) and the cause; retried; a refusal is final.
  ...(
    [
      ["refused", "connection refused: nothing listens on that port"],
      ["dns", "the host name was not found (DNS)"],
      ["tls", "TLS mismatch: the URL says wss:// but the port does not speak TLS"],
      ["not socket.io", "not a Socket.io server: HTTP 200 (text/html)"],
      ["timeout", "timed out"],
    ] as const
  ).map(
    ([name, cause]): Row => ({
      item: 7,
      name: `start when the orchestrator URL gives: ${name}`,
      run: () => connections[name] as Promise<RunResult>,
      exit: null,
      stream: "stderr",
      says: [/WARN cannot reach the orchestrator at (ws|wss):\/\/[^ ]+: /, cause, "retrying with backoff (attempt 1)"],
      quiet: true,
      check: (r) => expect(r.stderr).not.toContain("hunter2"),
    }),
  ),
  {
    item: 7,
    name: "start with a cluster's URLs: each failure names the instance it dialed",
    run: () => connections.cluster as Promise<RunResult>,
    exit: null,
    stream: "stderr",
    says: [/cannot reach the orchestrator at ws:\/\/127\.0\.0\.1:\d+: connection refused/, /cannot reach the orchestrator at ws:\/\/no-such-host\.invalid:8787: the host name was not found/],
    quiet: true,
  },
  {
    item: 7,
    name: "start refused by the orchestrator: the reason, and no retry",
    run: () => connections["bad credentials"] as Promise<RunResult>,
    exit: 3,
    stream: "stderr",
    says: [/error \[handshake_refused\]: The orchestrator at ws:\/\/127\.0\.0\.1:\d+ refused this worker: \(.+\)\./, "hint: Check BASIS_WORKER_TOKEN / BASIS_WORKER_AUTH_KEY"],
    quiet: true,
  },
  // 8. Non-wallets are refused.
  ...(
    [
      ["the zero address", "0x0000000000000000000000000000000000000000", "the zero address"],
      ["the dead address", "0x000000000000000000000000000000000000dEaD", "a burn address"],
      ["a precompile", "0x0000000000000000000000000000000000000001", "a precompile address"],
    ] as const
  ).map(
    ([name, wallet, says]): Row => ({
      item: 8,
      name: `register with ${name}`,
      run: () => worker(["register", "--wallet", wallet, "--worker-id", "op-zero", "--base", dev.url]),
      exit: 2,
      stream: "stderr",
      says: ["error [wallet_unusable]", says, USAGE("register")],
      quiet: true,
    }),
  ),
  // 9. Re-registration reports what changed.
  {
    item: 9,
    name: "re-registering with another runtime names the change",
    run: async () => (await registered("op-rereg"), registered("op-rereg", ["--runtime", "ollama"])),
    exit: 0,
    stream: "stdout",
    says: ["Worker op-rereg was already registered to wallet", "updated runtime echo -> ollama"],
    quiet: true,
    check: (r) => expect(r.stdout).not.toContain("nothing changed"),
  },
  {
    item: 9,
    name: "re-registering the same says nothing changed; --json lists the changes",
    run: async () => {
      expect((await registered("op-same")).code).toBe(0);
      const again = await registered("op-same");
      expect(again.stdout).toContain("nothing changed");
      return registered("op-same", ["--models", "basis-small", "--json"]);
    },
    exit: 0,
    stream: "stdout",
    says: ['"field": "models"', '"from": "basis-default"', '"to": "basis-small"'],
    quiet: true,
  },
  {
    item: 9,
    name: "another wallet for a taken id is still refused",
    run: () => worker(["register", "--wallet", OTHER_WALLET, "--worker-id", "op-same", "--base", dev.url]),
    exit: 2,
    stream: "stderr",
    says: ["worker_id_taken"],
    quiet: true,
  },
  // 10. Colour, the settlement line, onboarding words, a second Ctrl-C, a directory, the one model, JSON keys.
  {
    item: 10,
    name: "piped help, usage and errors carry no colour codes",
    run: async () => {
      for (const args of [["--help"], ["status", "--help"], ["stauts"], ["price"]]) {
        const r = await worker(args);
        expect(`${r.stdout}${r.stderr}`).not.toContain("\u001b[");
      }
      return worker(["register", "--help"]);
    },
    exit: 0,
    stream: "stdout",
    says: ["USAGE", "--env-file"],
    quiet: true,
  },
  {
    item: 10,
    name: "status --rewards --onboarding says the settlement line once",
    run: async () => (await registered("op-settle"), worker(["status", "--worker-id", "op-settle", "--rewards", "--onboarding", "--base", dev.url])),
    exit: 0,
    stream: "stdout",
    says: [/^Rewards$/m, /^Onboarding$/m],
    quiet: true,
    check: (r) => expect(r.stdout.match(/Settlement is gated/g)?.length).toBe(1),
  },
  {
    item: 10,
    name: "the onboarding state of a connected worker with its backend down is said plainly",
    run: () => worker(["status", "--worker-id", "op-sick", "--onboarding", "--base", dev.url]),
    exit: 0,
    stream: "stdout",
    says: ["Worker op-sick is connected, but its backend is down or it is draining, so it takes no jobs."],
    quiet: true,
    check: (r) => expect(r.stdout).not.toContain("online but not connected and available"),
  },
  {
    item: 10,
    name: "a second Ctrl-C during a drain says it stops now",
    run: async () => draining,
    exit: 1,
    stream: "stderr",
    says: ["SIGINT: no new jobs; draining", "draining: waiting for 1 job(s) to finish", "SIGINT again: stopping now; 1 in-flight job(s) cut off"],
  },
  {
    item: 10,
    name: "a directory given as the env file",
    run: () => worker(["start", "--env-file", join(scratch.dir, "a-directory")]),
    exit: 2,
    stream: "stderr",
    says: ["error [env_file_is_directory]", "is a directory, not a file", "hint: Pass the file itself"],
    quiet: true,
    check: (r) => expect(r.stderr).not.toContain("permissions"),
  },
  {
    item: 10,
    name: "setup --write-env takes the one model the local Ollama serves",
    run: () =>
      worker(["setup", "--write-env", "--wallet", WALLET, "--runtime", "ollama", "--orchestrator", ws(dev), "--out", join(scratch.dir, "ollama.env")], { BASIS_OLLAMA_URL: ollama.url }),
    exit: 0,
    stream: "stdout",
    says: ["BASIS_OLLAMA_MODEL=llama3.2:latest: the one model ollama serves"],
    check: (r) => {
      const text = readFileSync(join(scratch.dir, "ollama.env"), "utf8");
      expect(text).toContain("BASIS_OLLAMA_MODEL=llama3.2:latest\n");
      expect(text).toContain(`BASIS_OLLAMA_URL=${ollama.url}\n`);
      expect(r.stderr).not.toContain("needs BASIS_OLLAMA_MODEL");
    },
  },
  {
    item: 10,
    name: "setup --check --json uses one key style (snake_case) throughout",
    run: () => worker(["setup", "--check", "--json"]),
    exit: 0,
    stream: "stdout",
    says: ['"apple_silicon"', '"nvidia_runtime"'],
    quiet: true,
    check: (r) => {
      const keys: string[] = [];
      const walk = (value: unknown) => {
        if (Array.isArray(value)) value.forEach(walk);
        else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) (keys.push(k), walk(v));
      };
      walk(JSON.parse(r.stdout));
      expect(keys.filter((k) => /[A-Z]/.test(k))).toEqual([]);
    },
  },
  {
    item: 10,
    name: "setup --check --env-file checks the API, the backend model and the orchestrator's handshake",
    run: async () => {
      const out = join(scratch.dir, "doctor.env");
      await worker(["setup", "--write-env", "--wallet", WALLET, "--worker-id", "op-doctor", "--runtime", "ollama", "--orchestrator", ws(dev), "--out", out], { BASIS_OLLAMA_URL: ollama.url });
      await worker(["register", "--env-file", out]);
      return worker(["setup", "--check", "--env-file", out]);
    },
    exit: 0,
    stream: "stdout",
    says: [/^ok\s+Basis API\s+answers at http/m, /^ok\s+Backend\s+ollama at .* serves llama3\.2:latest$/m, /^ok\s+Orchestrator\s+ws:\/\/127\.0\.0\.1:\d+ accepted worker op-doctor/m],
  },
  {
    item: 10,
    name: "setup --check --env-file fails (exit 1) and names what is wrong",
    run: () => worker(["setup", "--check", "--json", "--env-file", echoEnv("op-broken", `ws://127.0.0.1:${deadUrl.split(":").at(-1)}`, { BASIS_BASE_URL: deadUrl })]),
    exit: 1,
    stream: "stdout",
    says: ['"name": "Basis API"', '"name": "Orchestrator"', "connection refused"],
    quiet: true,
    check: (r) => expect((JSON.parse(r.stdout) as { checks: { ok: boolean }[] }).checks.filter((c) => !c.ok).length).toBe(2),
  },
  // 11. serve: its variables in --help, a warning for a weak key; the README answers where secrets come from.
  {
    item: 11,
    name: "basis-canary serve warns at start about a 1-byte BASIS_WORKER_AUTH_KEY",
    // The warnings follow the "listening" line; the open-dispatch one comes last.
    run: () => watch(CANARY_BIN, ["serve", "--port", "0"], /WARN no BASIS_ORCHESTRATOR_SECRET/, { BASIS_WORKER_AUTH_KEY: "x" }),
    exit: null,
    stream: "stderr",
    says: ["WARN BASIS_WORKER_AUTH_KEY is only 1 byte(s): use at least 32 random bytes"],
    quiet: true,
  },
  {
    item: 11,
    name: "basis-canary serve --help lists the secrets it reads",
    run: () => bin(CANARY_BIN, ["serve", "--help"]),
    exit: 0,
    stream: "stdout",
    says: ["ENVIRONMENT", /^ {2}BASIS_WORKER_AUTH_KEY\s+SECRET/m, /^ {2}BASIS_ORCHESTRATOR_SECRET\s/m, /^ {2}INTERNAL_API_SECRET\s/m, /^ {2}BASIS_WORKER_TOKENS\s/m],
    quiet: true,
  },
  {
    item: 11,
    name: "the README says where each secret comes from and what BASIS_DOWNLOAD_BASE is",
    run: async () => ({ code: 0, stdout: readFileSync(join(ROOT, "README.md"), "utf8"), stderr: "" }),
    exit: 0,
    stream: "stdout",
    says: ["### Where the secrets come from", /\| `BASIS_WORKER_AUTH_KEY` \| the orchestrator's operator/, /\| `BASIS_WORKER_TOKEN` \|/, "`BASIS_DOWNLOAD_BASE` is the URL of the release folder"],
  },
];

describe("issue 14: an operator's first contact, item by item", () => {
  test("the table covers items 1 to 11", () => expect(new Set(rows.map((r) => r.item))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])));

  for (const row of rows) {
    test(`${row.item}. ${row.name}`, async () => {
      const result = await row.run();
      const output = result[row.stream];
      for (const expected of row.says) {
        if (typeof expected === "string") expect(output).toContain(expected);
        else expect(output).toMatch(expected);
      }
      expect(result.code).toBe(row.exit);
      if (row.quiet) expect(result[row.stream === "stdout" ? "stderr" : "stdout"]).toBe("");
      expect(`${result.stdout}${result.stderr}`).not.toContain("\u001b[");
      if (row.item !== 11) expectNoSecrets(result);
      await row.check?.(result);
    }, 30_000);
  }
});
