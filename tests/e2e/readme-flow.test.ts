/**
 * The README's "Run a worker" section, run literally: the commands are read from README.md
 * itself, only the placeholders are replaced (the wallet, and the orchestrator URL with a local
 * `basis-canary serve`), and each line runs through `sh` with the compiled `basis-worker` first
 * on PATH. The flow must end with the worker online under the id it registered.
 * The operator's Ollama is a fake that speaks Ollama's wire format, found the way the README
 * says: BASIS_OLLAMA_URL.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { startFakeOllama, type FakeOllama } from "../fakes/fake-ollama.ts";
import { CANARY_BIN, requireBinaries, ROOT, WORKER_BIN } from "../helpers/binaries.ts";
import { makeScratch, stopChild, WALLET, waitFor } from "../cli/_cli.ts";

requireBinaries();

const PLACEHOLDERS = { wallet: "0xYOUR_PUBLIC_ADDRESS", orchestrator: "wss://orchestrator.example" };

/** The first ```sh block under "## Run a worker", as logical lines (continuations joined). */
function readmeOperatorCommands(readme: string): string[] {
  const section = readme.slice(readme.indexOf("## Run a worker"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error("README.md has no ```sh block under ## Run a worker");
  return block
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

const scratch = makeScratch("readme");
const bin = join(scratch.dir, "bin");
let serve: ChildProcess;
let port = 0;
let ollama: FakeOllama;
const background: ChildProcess[] = [];

function shellEnv(): Record<string, string> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BASIS_") && k !== "NO_COLOR")) as Record<string, string>;
  return { ...base, ...scratch.env, HOME: scratch.dir, PATH: `${bin}:${process.env.PATH}`, BASIS_OLLAMA_URL: ollama.url };
}

beforeAll(async () => {
  mkdirSync(bin, { recursive: true });
  symlinkSync(WORKER_BIN, join(bin, "basis-worker"));
  ollama = startFakeOllama({ models: { "llama3.2": { tokens: ["Hello", " from", " Ollama"] } } });
  const portFile = join(scratch.dir, "serve.port");
  // A local orchestrator in dev mode, its API on the same port: what `Self-host` runs.
  serve = spawn(CANARY_BIN, ["serve", "--port", "0", "--port-file", portFile], { stdio: "ignore", env: { ...process.env, BASIS_LOG_LEVEL: "quiet" } });
  port = await waitFor("basis-canary serve's port", 15_000, () => (existsSync(portFile) ? Number(readFileSync(portFile, "utf8")) || undefined : undefined));
});

afterAll(async () => {
  await Promise.all(background.map(stopChild));
  if (serve) await stopChild(serve);
  await ollama?.close();
  scratch.cleanup();
});

interface Ran {
  line: string;
  code: number | null;
  stdout: string;
  stderr: string;
}

async function runLine(line: string): Promise<Ran> {
  const proc = Bun.spawn(["sh", "-c", line], { cwd: scratch.dir, env: shellEnv(), stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { line, code, stdout, stderr };
}

/** `start` runs until stopped: as an operator leaves it running in a second terminal. */
async function startInBackground(line: string): Promise<void> {
  const child = spawn("sh", ["-c", `exec ${line}`], { cwd: scratch.dir, env: shellEnv(), stdio: ["ignore", "ignore", "pipe"] });
  background.push(child);
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    log += chunk.toString();
  });
  await waitFor(`"${line}" to connect (log so far: ${log.slice(-300)})`, 20_000, () => {
    if (child.exitCode !== null) throw new Error(`${line} exited ${child.exitCode}: ${log.slice(-500)}`);
    return /connected: worker my-gpu-1 online/.test(log) ? true : undefined;
  });
}

describe("README: Run a worker, line by line", () => {
  test("the flow ends with the worker online under the id it registered", async () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const commands = readmeOperatorCommands(readme);
    expect(commands.length).toBeGreaterThanOrEqual(6);
    const text = commands.join("\n");
    expect(text).toContain(PLACEHOLDERS.wallet);
    expect(text).toContain(PLACEHOLDERS.orchestrator);

    const ran: Ran[] = [];
    for (const command of commands) {
      const line = command.replaceAll(PLACEHOLDERS.wallet, WALLET).replaceAll(PLACEHOLDERS.orchestrator, `ws://127.0.0.1:${port}`);
      expect(line).toStartWith("basis-worker ");
      if (/^basis-worker start\b/.test(line)) {
        await startInBackground(line);
        continue;
      }
      const result = await runLine(line);
      ran.push(result);
      if (result.code !== 0) throw new Error(`"${line}" exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
      // Piped output carries no colour codes.
      expect(`${result.stdout}${result.stderr}`).not.toContain("\u001b[");
    }

    const byCommand = (name: string) => ran.filter((r) => r.line.startsWith(`basis-worker ${name}`));
    // setup found the one model the operator's Ollama serves, and the API on the orchestrator's port.
    const envText = readFileSync(join(scratch.dir, "worker.env"), "utf8");
    expect(envText).toContain("BASIS_WORKER_ID=my-gpu-1\n");
    expect(envText).toContain("BASIS_OLLAMA_MODEL=llama3.2:latest\n");
    expect(envText).toContain(`BASIS_BASE_URL=http://127.0.0.1:${port}\n`);
    expect(byCommand("register")[0]?.stdout).toContain("worker my-gpu-1");
    expect(byCommand("status")[0]?.stdout).toMatch(/^Worker\s+my-gpu-1$/m);
    expect(byCommand("status")[0]?.stdout).toMatch(/^Status\s+online$/m);
    const health = byCommand("healthcheck").at(-1);
    expect(health?.stdout).toBe("ok: worker my-gpu-1 is online and can serve\n");

    const answer = (await (await fetch(`http://127.0.0.1:${port}/api/workers/my-gpu-1`)).json()) as { worker: { online: boolean; available: boolean; runtime: string } };
    expect(answer.worker).toMatchObject({ online: true, available: true, runtime: "ollama" });

    // The README's way to stop it, from the start line's comment.
    const stop = await runLine("basis-worker stop --env-file ./worker.env");
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain("Stopped worker my-gpu-1");
  }, 90_000);
});
