/**
 * The reference case for garbage (issue 11): a worker on llama.cpp's real `llama-server` serving
 * the random-weight tiny model (word salad) ends not payable through the hidden spot checks of
 * the COMPILED orchestrator, while a worker on an honest fake stays payable. Both workers are the
 * compiled `basis-worker`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChatMessage } from "../../lib/core/protocol.ts";
import { followSpotCheck } from "../../lib/core/spot-check.ts";
import { type FakeOllama, startFakeOllama } from "../fakes/fake-ollama.ts";
import { CANARY_BIN, requireBinaries, WORKER_BIN } from "../helpers/binaries.ts";
import { WALLET, waitUntil } from "../helpers/harness.ts";
import { type LlamaServer, startLlamaServer } from "../helpers/llama-server.ts";

requireBinaries();

const TOKEN = "spot-check-llama-token-0123456789";
const dir = mkdtempSync(join(tmpdir(), "basis-llama-spot-"));
const procs: Subprocess[] = [];
let engine: LlamaServer | undefined;
let fake: FakeOllama | undefined;
let base = "";

function env(extra: Record<string, string>): Record<string, string> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BASIS_"))) as Record<string, string>;
  return { ...clean, NO_COLOR: "1", XDG_STATE_HOME: join(dir, "state"), ...extra };
}

function spawn(argv: string[], extra: Record<string, string>): Subprocess {
  const proc = Bun.spawn(argv, { env: env(extra), stdout: "ignore", stderr: "ignore" });
  procs.push(proc);
  return proc;
}

function startWorker(id: string, backend: Record<string, string>): void {
  spawn([WORKER_BIN, "start"], {
    BASIS_WORKER_WALLET: WALLET,
    BASIS_WORKER_ID: id,
    BASIS_WORKER_MODELS: id,
    BASIS_WORKER_TOKEN: TOKEN,
    BASIS_ORCHESTRATOR_URL: base,
    ...backend,
  });
}

interface WorkerView {
  online: boolean;
  unverified: boolean;
}

async function view(id: string): Promise<WorkerView | undefined> {
  const res = await fetch(`${base}/api/workers/${id}`);
  return res.status === 200 ? ((await res.json()) as { worker: WorkerView }).worker : undefined;
}

beforeAll(async () => {
  engine = await startLlamaServer({ alias: "tiny-random" });
  fake = startFakeOllama({ models: { honest: { tokens: ["Rivers", " carry", " water", "."], promptTokens: 12, tokenDelayMs: 1 } } });
  const portFile = join(dir, "port");
  // Checks come 0.25 to 1 s after a worker connects, then about every second.
  spawn([CANARY_BIN, "serve", "--port", "0", "--port-file", portFile], { BASIS_WORKER_TOKENS: TOKEN, BASIS_SPOT_CHECK_INTERVAL_MS: "1000" });
  await waitUntil("the port file", () => existsSync(portFile), 10_000);
  base = `http://127.0.0.1:${readFileSync(portFile, "utf8").trim()}`;
  startWorker("llama-gpu", { BASIS_WORKER_RUNTIME: "openai", BASIS_OPENAI_URL: engine.url, BASIS_OPENAI_MODEL: engine.alias });
  startWorker("honest-gpu", { BASIS_WORKER_RUNTIME: "ollama", BASIS_OLLAMA_URL: fake.url, BASIS_OLLAMA_MODEL: "honest" });
}, 60_000);

afterAll(async () => {
  for (const proc of procs.reverse()) {
    proc.kill("SIGTERM");
    await proc.exited;
  }
  await engine?.stop();
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function ask(model: string): Promise<{ status: number; payable: string | null }> {
  const res = await fetch(`${base}/v1/dispatch`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "Tell me about rivers." }], max_tokens: 24 }),
  });
  await res.text();
  return { status: res.status, payable: res.headers.get("x-basis-payable") };
}

describe("spot checks against a real engine", () => {
  test("a worker on the random-weight llama.cpp model ends not payable; one on an honest fake stays payable", async () => {
    await waitUntil("the llama worker unverified", async () => (await view("llama-gpu"))?.unverified === true, 30_000);
    // The honest backend has answered a spot check by now, and passed it.
    const checked = () => fake!.requests.filter((r) => followSpotCheck((r.body as { messages?: ChatMessage[] })?.messages ?? []) !== undefined).length;
    await waitUntil("the honest worker checked", () => checked() >= 1, 30_000);
    expect((await view("honest-gpu"))?.unverified).toBe(false);

    // A failed check also cools the worker down: ask until it takes the job.
    let garbage: { status: number; payable: string | null } = { status: 0, payable: null };
    await waitUntil("the llama worker serving", async () => (garbage = await ask("llama-gpu")).status === 200, 30_000);
    expect(garbage.payable).toBe("false");
    const honest = await ask("honest-gpu");
    expect(honest).toEqual({ status: 200, payable: "true" });

    const entries = async (id: string) => ((await (await fetch(`${base}/api/workers/${id}/rewards`)).json()) as { entries: { payable: boolean; reason: string | null }[] }).entries;
    const llamaLines = await entries("llama-gpu");
    expect(llamaLines.length).toBeGreaterThan(0);
    for (const line of llamaLines) expect(line.payable).toBe(false);
    expect(llamaLines.some((line) => line.reason?.includes("failed_spot_check"))).toBe(true);
    expect((await entries("honest-gpu")).every((line) => line.payable)).toBe(true);
  }, 90_000);
});
