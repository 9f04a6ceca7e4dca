import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { requireBinaries } from "../helpers/binaries.ts";
import { expectNoSecrets, isOnline, makeScratch, type ServedApi, serveApi, stopChild, WALLET, waitFor, WORKER_BIN, worker } from "./_cli.ts";

requireBinaries();

const scratch = makeScratch("lifecycle");
const stateDir = join(scratch.env.XDG_STATE_HOME as string, "basis-worker");
let api: ServedApi;
const started: ChildProcess[] = [];

beforeAll(async () => {
  api = await serveApi(join(scratch.dir, "data"));
});
afterEach(async () => {
  await Promise.all(started.splice(0).map(stopChild));
});
afterAll(async () => {
  await api?.stop();
  scratch.cleanup();
});

/** `basis-worker start --env-file PATH` in the background, with this file's state folder. */
function startWorker(envFile: string): ChildProcess {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BASIS_")));
  const child = spawn(WORKER_BIN, ["start", "--env-file", envFile], { env: { ...env, ...scratch.env, NO_COLOR: "1" }, stdio: "ignore" });
  started.push(child);
  return child;
}

async function writeEnv(name: string, workerId: string): Promise<string> {
  const out = join(scratch.dir, name);
  const result = await worker(
    ["setup", "--write-env", "--wallet", WALLET, "--runtime", "echo", "--orchestrator", api.wsUrl, "--out", out, "--worker-id", workerId],
    scratch.env,
  );
  expect(result.code).toBe(0);
  return out;
}

describe("basis-worker setup --check", () => {
  test("reports this host and exits 0, GPU or not", async () => {
    const result = await worker(["setup", "--check"], scratch.env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^OS\s+/m);
    expect(result.stdout).toMatch(/^Runtime\s+\w+ \(recommended\)/m);
  });

  test("--json prints the report with its stable keys", async () => {
    const result = await worker(["setup", "--check", "--json"], scratch.env);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    for (const key of ["os", "arch", "gpus", "docker", "ollama", "vllm", "missing", "next"]) expect(report).toHaveProperty(key);
    expect(Array.isArray(report.gpus)).toBe(true);
  });

  test("probes the Ollama URL from BASIS_OLLAMA_URL", async () => {
    const result = await worker(["setup", "--check", "--json"], { ...scratch.env, BASIS_OLLAMA_URL: "http://127.0.0.1:9" });
    expect(JSON.parse(result.stdout).ollama.url).toBe("http://127.0.0.1:9");
  });
});

describe("basis-worker setup --write-env", () => {
  test("writes a 0600 file and prints the start command", async () => {
    const out = join(scratch.dir, "first.env");
    const result = await worker(
      ["setup", "--write-env", "--wallet", WALLET, "--runtime", "echo", "--orchestrator", api.wsUrl, "--out", out, "--worker-id", "e2e-first", "--models", "basis-small"],
      scratch.env,
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Next: basis-worker register --env-file ${out}, then basis-worker start --env-file ${out}`);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const text = readFileSync(out, "utf8");
    expect(text).toContain(`BASIS_WORKER_WALLET=${WALLET}\n`);
    expect(text).toContain("BASIS_WORKER_ID=e2e-first\n");
    expect(text).toContain("BASIS_WORKER_MODELS=basis-small\n");
    expect(text).toContain("BASIS_WORKER_TOKEN=\n");
    expectNoSecrets(result);
  });

  test("--force replaces an existing file", async () => {
    const out = join(scratch.dir, "forced.env");
    writeFileSync(out, "old\n");
    const result = await worker(
      ["setup", "--write-env", "--wallet", WALLET, "--runtime", "echo", "--orchestrator", api.wsUrl, "--out", out, "--force"],
      scratch.env,
    );
    expect(result.code).toBe(0);
    expect(readFileSync(out, "utf8")).toContain(`BASIS_WORKER_WALLET=${WALLET}`);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  test("warns when the file lands in a git work tree without being ignored", async () => {
    const repo = join(scratch.dir, "repo");
    mkdirSync(repo);
    const git = Bun.spawnSync(["git", "init", "-q", repo]);
    if (git.exitCode !== 0) throw new Error("git init failed");
    const out = join(repo, "worker.env");
    const result = await worker(["setup", "--write-env", "--wallet", WALLET, "--runtime", "echo", "--orchestrator", api.wsUrl, "--out", out], scratch.env);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("inside a git work tree and not ignored");
    writeFileSync(join(repo, ".gitignore"), "*.env\n");
    const ignored = await worker(
      ["setup", "--write-env", "--wallet", WALLET, "--runtime", "echo", "--orchestrator", api.wsUrl, "--out", out, "--force"],
      scratch.env,
    );
    expect(ignored.stderr).not.toContain("git work tree");
  });

  test("names the backend setting still to fill in for ollama", async () => {
    const out = join(scratch.dir, "ollama.env");
    const result = await worker(["setup", "--write-env", "--wallet", WALLET, "--runtime", "ollama", "--orchestrator", api.wsUrl, "--out", out], scratch.env);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("BASIS_OLLAMA_MODEL");
    const filled = await worker(
      ["setup", "--write-env", "--wallet", WALLET, "--runtime", "ollama", "--orchestrator", api.wsUrl, "--out", out, "--force", "--backend-model", "llama3.2"],
      scratch.env,
    );
    expect(filled.stderr).not.toContain("BASIS_OLLAMA_MODEL");
    expect(readFileSync(out, "utf8")).toContain("BASIS_OLLAMA_MODEL=llama3.2\n");
  });
});

describe("the written file runs a worker; healthcheck and stop see it", () => {
  test("setup --write-env, start --env-file, online, healthcheck 0, stop, healthcheck 1", async () => {
    const envFile = await writeEnv("run.env", "e2e-run");
    const child = startWorker(envFile);
    await waitFor("the worker to show online", 15_000, async () => ((await isOnline(api, "e2e-run")) ? true : undefined));
    expect(existsSync(join(stateDir, "e2e-run.pid"))).toBe(true);

    const healthy = await worker(["healthcheck", "--worker-id", "e2e-run", "--base", api.url], scratch.env);
    expect(healthy.code).toBe(0);
    expect(healthy.stdout).toBe("ok: worker e2e-run is online and can serve\n");
    expect(healthy.stderr).toBe("");

    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const stopped = await worker(["stop"], scratch.env);
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain(`Stopped worker e2e-run (pid ${child.pid})`);
    expect(await exited).toBe(0);
    expect(existsSync(join(stateDir, "e2e-run.pid"))).toBe(false);
    await waitFor("the worker to show offline", 5_000, async () => ((await isOnline(api, "e2e-run")) === false ? true : undefined));

    const unhealthy = await worker(["healthcheck", "--worker-id", "e2e-run", "--base", api.url], scratch.env);
    expect(unhealthy.code).toBe(1);
    expect(unhealthy.stdout).toBe("unhealthy: worker e2e-run is offline\n");
  });

  test("a second start of the same worker id is refused while the first runs", async () => {
    const envFile = await writeEnv("twice.env", "e2e-twice");
    startWorker(envFile);
    await waitFor("the pid file", 10_000, () => (existsSync(join(stateDir, "e2e-twice.pid")) ? true : undefined));
    const second = await worker(["start", "--env-file", envFile], scratch.env, 10_000);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain("error [worker_already_running]");
  });

  test("stop refuses to guess between several workers, then stops the one named", async () => {
    const a = startWorker(await writeEnv("a.env", "e2e-a"));
    startWorker(await writeEnv("b.env", "e2e-b"));
    for (const id of ["e2e-a", "e2e-b"]) await waitFor(`${id} pid file`, 10_000, () => (existsSync(join(stateDir, `${id}.pid`)) ? true : undefined));

    const refused = await worker(["stop"], scratch.env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("error [several_workers_running]");
    expect(refused.stderr).toContain("e2e-a (pid");
    expect(refused.stderr).toContain("e2e-b (pid");

    const stopped = await worker(["stop", "--worker-id", "e2e-a"], scratch.env);
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain(`Stopped worker e2e-a (pid ${a.pid})`);
    expect(existsSync(join(stateDir, "e2e-b.pid"))).toBe(true);
  });

  test("stop with none running says so, exits 1, and removes a stale pid file", async () => {
    mkdirSync(stateDir, { recursive: true });
    const dead = Bun.spawnSync(["true"]).pid;
    writeFileSync(join(stateDir, "e2e-stale.pid"), `${dead}\n`);
    const result = await worker(["stop", "--worker-id", "e2e-stale"], scratch.env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error [worker_not_running]: Worker e2e-stale is not running on this host (removed 1 stale pid file).");
    expect(existsSync(join(stateDir, "e2e-stale.pid"))).toBe(false);

    const none = await worker(["stop"], scratch.env);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("error [worker_not_running]: No worker is running on this host.");
  });
});
