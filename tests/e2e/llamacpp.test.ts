/**
 * The whole path against a real inference engine: the in-process reference orchestrator, the
 * compiled worker as a child process, and llama.cpp's llama-server (built by `make engine`)
 * serving the tiny random-weight model. What a fake cannot show is checked here: the engine's
 * own token counts and finish reasons, stop strings, a client abort freeing the engine's slot,
 * the engine dying and coming back under a connected worker, and two slots in use at once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { readSse, SSE_DONE } from "../../lib/core/sse.ts";
import type { Orchestrator } from "../../lib/orchestrator/server.ts";
import { requireBinaries, run, WORKER_BIN } from "../helpers/binaries.ts";
import { dispatch, startTestOrchestrator, WALLET, waitUntil } from "../helpers/harness.ts";
import { type LlamaServer, startLlamaServer } from "../helpers/llama-server.ts";

requireBinaries();

const MODEL = "tiny-llama";
const WORKER_ID = "llama-worker";
const MESSAGES = [
  { role: "system", content: "You are terse." },
  { role: "user", content: "Name three rivers." },
];
/** Long enough that an answer cut short is told apart from one that ran to the end. */
const LONG = 12_000;

let engine: LlamaServer;
let orchestrator: Orchestrator;
let worker: Subprocess<"ignore", "ignore", "pipe"> | undefined;
let workerLog = "";

beforeAll(async () => {
  // 2 slots of 16k tokens each: room for a long answer that a test cuts off.
  [engine, orchestrator] = await Promise.all([
    startLlamaServer({ alias: MODEL, slots: 2, contextSize: 2 * 16_384 }),
    startTestOrchestrator({ jobTimeoutMs: 60_000 }),
  ]);
});
afterAll(async () => {
  await stopWorker();
  await orchestrator?.close();
  await engine?.stop();
});
afterEach(async () => {
  await stopWorker();
  await waitUntil("engine slots idle", async () => (await engine.slots()).every((slot) => !slot.is_processing), 20_000);
});

function cleanEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BASIS_"))) as Record<string, string>;
}

async function startWorker(runtime: "llamacpp" | "openai" = "llamacpp", env: Record<string, string> = {}): Promise<void> {
  const prefix = runtime === "llamacpp" ? "BASIS_LLAMACPP" : "BASIS_OPENAI";
  worker = Bun.spawn([WORKER_BIN, "start"], {
    env: {
      ...cleanEnv(),
      NO_COLOR: "1",
      BASIS_WORKER_WALLET: WALLET,
      BASIS_WORKER_ID: WORKER_ID,
      BASIS_WORKER_RUNTIME: runtime,
      [`${prefix}_URL`]: engine.url,
      [`${prefix}_MODEL`]: MODEL,
      BASIS_WORKER_CONCURRENCY: "2",
      BASIS_HEALTH_POLL_MS: "100",
      BASIS_ORCHESTRATOR_URL: orchestrator.url,
      ...env,
    },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  workerLog = "";
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of worker.stderr) workerLog += decoder.decode(chunk, { stream: true });
  })();
  await waitUntil("worker online", () => orchestrator.registry.get(WORKER_ID)?.available === true, 15_000);
}

async function stopWorker(): Promise<void> {
  if (!worker) return;
  worker.kill("SIGTERM");
  await worker.exited;
  worker = undefined;
  await waitUntil("worker gone", () => orchestrator.registry.size === 0);
}

interface Completion {
  choices: { message: { content: string }; finish_reason: string }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  error?: string;
  message?: string;
}

/** The engine's own answer to the same request, straight from llama-server. */
async function askEngine(body: Record<string, unknown>): Promise<Completion> {
  const response = await fetch(`${engine.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: MODEL, messages: MESSAGES, ...body }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Completion;
}

async function askWorker(body: Record<string, unknown>, signal?: AbortSignal): Promise<{ status: number; body: Completion }> {
  const response = await dispatch(orchestrator, { model: MODEL, messages: MESSAGES, ...body }, signal ? { signal } : {});
  return { status: response.status, body: (await response.json()) as Completion };
}

interface Streamed {
  status: number;
  chunks: Record<string, unknown>[];
  text: string;
  finish: string | undefined;
  usage: Completion["usage"] | undefined;
  error: unknown;
  /** From sending the request to the end of the stream. */
  elapsedMs: number;
}

/** A streamed dispatch read to its end; `onChunk` may abort it. */
async function streamWorker(body: Record<string, unknown>, options: { signal?: AbortSignal; onChunk?: (text: string) => void } = {}): Promise<Streamed> {
  const started = performance.now();
  const response = await dispatch(orchestrator, { model: MODEL, messages: MESSAGES, stream: true, ...body }, options.signal ? { signal: options.signal } : {});
  const out: Streamed = { status: response.status, chunks: [], text: "", finish: undefined, usage: undefined, error: undefined, elapsedMs: 0 };
  if (response.status !== 200 || !response.body) return out;
  try {
    for await (const event of readSse(response.body)) {
      if (event.data === SSE_DONE) break;
      const chunk = JSON.parse(event.data) as Record<string, unknown> & {
        choices?: { delta?: { content?: string }; finish_reason?: string | null }[];
        usage?: Completion["usage"];
        error?: unknown;
      };
      out.chunks.push(chunk);
      if (chunk.error) out.error = chunk.error;
      for (const choice of chunk.choices ?? []) {
        if (choice.delta?.content) {
          out.text += choice.delta.content;
          options.onChunk?.(choice.delta.content);
        }
        if (choice.finish_reason) out.finish = choice.finish_reason;
      }
      if (chunk.usage) out.usage = chunk.usage;
    }
  } catch (error) {
    if (!options.signal?.aborted) throw error;
  }
  out.elapsedMs = performance.now() - started;
  return out;
}

/** Requests the orchestrator holds for a free worker of MODEL (its basis_queue_waiting gauge). */
async function queueWaiting(): Promise<number> {
  const metrics = await (await fetch(`${orchestrator.url}/metrics`)).text();
  const line = metrics.split("\n").find((l) => l.startsWith(`basis_queue_waiting{model="${MODEL}"}`));
  return Number(line?.split(/\s+/)[1] ?? 0);
}

async function tokensPredicted(): Promise<number> {
  const metrics = await (await fetch(`${engine.url}/metrics`)).text();
  const line = metrics.split("\n").find((l) => l.startsWith("llamacpp:tokens_predicted_total"));
  return Number(line?.split(/\s+/)[1] ?? Number.NaN);
}

for (const runtime of ["llamacpp", "openai"] as const) {
  describe(`compiled worker, ${runtime} runtime, real llama-server`, () => {
    test("a whole answer is the engine's own: same text, the engine's usage, finish_reason length", async () => {
      await startWorker(runtime);
      const request = { max_tokens: 24, temperature: 0 };
      const direct = await askEngine(request);
      const served = await askWorker(request);
      expect(served.status).toBe(200);
      expect(served.body.choices[0]!.finish_reason).toBe("length");
      expect(served.body.choices[0]!.message.content).toBe(direct.choices[0]!.message.content);
      expect(served.body.usage).toEqual({
        prompt_tokens: direct.usage.prompt_tokens,
        completion_tokens: 24,
        total_tokens: direct.usage.prompt_tokens + 24,
      });
    }, 30_000);

    test("a streamed answer arrives in pieces, equals the whole one, and ends with include_usage's usage", async () => {
      await startWorker(runtime);
      const request = { max_tokens: 24, temperature: 0 };
      const direct = await askEngine(request);
      const streamed = await streamWorker({ ...request, stream_options: { include_usage: true } });
      expect(streamed.status).toBe(200);
      expect(streamed.error).toBeUndefined();
      expect(streamed.text).toBe(direct.choices[0]!.message.content);
      expect(streamed.chunks.filter((c) => (c.choices as { delta?: { content?: string } }[])[0]?.delta?.content).length).toBeGreaterThan(1);
      expect(streamed.finish).toBe("length");
      expect(streamed.usage).toEqual({ prompt_tokens: direct.usage.prompt_tokens, completion_tokens: 24, total_tokens: direct.usage.prompt_tokens + 24 });
      const plain = await streamWorker(request);
      expect(plain.text).toBe(direct.choices[0]!.message.content);
      expect(plain.usage).toBeUndefined();
    }, 30_000);
  });
}

describe("compiled worker, llamacpp runtime, real llama-server", () => {
  test("start logs the engine's context per slot and slot count, read from /props", async () => {
    await startWorker();
    await waitUntil("the /props line", () => workerLog.includes("llama-server: context 16384 tokens per slot, 2 slots"), 5_000).catch(() => {
      throw new Error(`no /props line in the worker's log:\n${workerLog}`);
    });
  }, 30_000);

  test("a stop string ends the answer early with finish_reason stop, cut where the engine cut it", async () => {
    await startWorker();
    const whole = (await askEngine({ max_tokens: 40, temperature: 0 })).choices[0]!.message.content;
    // A piece from the middle of the answer that does not occur before it.
    const at = [...Array(whole.length - 12).keys()].find((i) => i >= 8 && whole.indexOf(whole.slice(i, i + 4)) === i && /\S/.test(whole.slice(i, i + 4)));
    expect(at).toBeDefined();
    const stop = whole.slice(at!, at! + 4);
    const served = await askWorker({ max_tokens: 40, temperature: 0, stop: [stop] });
    expect(served.status).toBe(200);
    expect(served.body.choices[0]!.finish_reason).toBe("stop");
    expect(served.body.choices[0]!.message.content).toBe(whole.slice(0, at));
    expect(served.body.usage.completion_tokens).toBeLessThan(40);
    expect(served.body.usage.completion_tokens).toBeGreaterThan(0);
  }, 30_000);

  test("a logit bias on the end token (2 in the llama vocabulary) ends the answer at once with finish_reason stop", async () => {
    await startWorker();
    const request = { max_tokens: 20, temperature: 0, logit_bias: { "2": 100 } };
    const direct = await askEngine(request);
    expect(direct.choices[0]!.finish_reason).toBe("stop");
    const served = await askWorker(request);
    expect(served.status).toBe(200);
    expect(served.body.choices[0]!.finish_reason).toBe("stop");
    expect(served.body.choices[0]!.message.content).toBe("");
    expect(served.body.usage.completion_tokens).toBe(direct.usage.completion_tokens);
    // Pushed the other way, the end token never comes and max_tokens cuts the answer.
    const away = await askWorker({ ...request, logit_bias: { "2": -100 } });
    expect(away.body.choices[0]!.finish_reason).toBe("length");
    expect(away.body.usage.completion_tokens).toBe(20);
  }, 30_000);

  test("a long stream at the engine's full speed arrives whole, in at most one event per 5 ms (the event budget)", async () => {
    await startWorker();
    const request = { max_tokens: 1_500, temperature: 0 };
    const direct = await askEngine(request);
    const streamed = await streamWorker(request);
    expect(streamed.error).toBeUndefined();
    expect(streamed.finish).toBe("length");
    expect(streamed.text).toBe(direct.choices[0]!.message.content);
    // One token per event would be 1,500 events, beyond the orchestrator's 500/s per job on a fast
    // engine. Paced at one per 5 ms there are fewer than one per 4 ms (a margin for timer jitter).
    const pieces = streamed.chunks.filter((c) => (c.choices as { delta?: { content?: string } }[])[0]?.delta?.content).length;
    expect(pieces).toBeLessThanOrEqual(Math.ceil(streamed.elapsedMs / 4) + 1);
    expect(pieces).toBeLessThan(1_500);
  }, 30_000);

  test("a client that hangs up mid-stream frees the engine's slot: the engine stops decoding", async () => {
    await startWorker();
    const before = await tokensPredicted();
    const cancelsBefore = engine.log().split("cancel task").length;
    const client = new AbortController();
    let pieces = 0;
    const streamed = await streamWorker(
      { max_tokens: LONG, temperature: 1, seed: 7 },
      { signal: client.signal, onChunk: () => ++pieces === 3 && client.abort() },
    );
    expect(streamed.status).toBe(200);
    expect(client.signal.aborted).toBe(true);
    await waitUntil("the slot is free again", async () => (await engine.slots()).every((slot) => !slot.is_processing), 20_000);
    // Cut short, not run to the end: far fewer tokens than asked were decoded, and the engine
    // logged that it cancelled the task.
    expect((await tokensPredicted()) - before).toBeLessThan(LONG / 2);
    expect(engine.log().split("cancel task").length).toBeGreaterThan(cancelsBefore);
    const job = orchestrator.registry.get(WORKER_ID);
    expect(job?.active).toBe(0);
  }, 40_000);

  test("two slots serve two jobs at once (per-model concurrency 2); a third waits in the orchestrator, not the engine", async () => {
    await startWorker("llamacpp", { BASIS_WORKER_MODEL_CONCURRENCY: `${MODEL}=2` });
    const client = new AbortController();
    const first = streamWorker({ max_tokens: LONG, temperature: 1, seed: 1 }, { signal: client.signal });
    const second = streamWorker({ max_tokens: LONG, temperature: 1, seed: 2 }, { signal: client.signal });
    await waitUntil("both slots busy", async () => (await engine.slots()).every((slot) => slot.is_processing), 20_000);
    let thirdDone = false;
    const third = askWorker({ max_tokens: 4, temperature: 0 }).finally(() => (thirdDone = true));
    await waitUntil("the third job queued at the orchestrator", async () => (await queueWaiting()) === 1, 10_000);
    expect(thirdDone).toBe(false);
    expect(orchestrator.registry.get(WORKER_ID)?.active).toBe(2);
    expect((await engine.slots()).map((slot) => slot.is_processing)).toEqual([true, true]);
    client.abort();
    const [a, b] = await Promise.all([first, second]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const served = await third;
    expect(served.status).toBe(200);
    expect(served.body.usage.completion_tokens).toBe(4);
  }, 40_000);

  test("the engine killed under a connected worker: the job in flight fails, routing stops, and resumes after a restart", async () => {
    await startWorker();
    let killed: Promise<void> | undefined;
    const inFlight = await streamWorker({ max_tokens: LONG, temperature: 1, seed: 3 }, { onChunk: () => void (killed ??= engine.kill()) });
    await killed;
    expect(inFlight.status).toBe(200);
    expect(inFlight.finish).toBeUndefined();
    expect(JSON.stringify(inFlight.error)).toContain("worker_failed");

    await waitUntil("worker reports the backend down", () => orchestrator.registry.get(WORKER_ID)?.available === false, 10_000);
    const refused = await askWorker({ max_tokens: 4 });
    expect(refused.status).toBe(503);

    await engine.restart();
    await waitUntil("worker takes jobs again", () => orchestrator.registry.get(WORKER_ID)?.available === true, 10_000);
    const served = await askWorker({ max_tokens: 8, temperature: 0 });
    expect(served.status).toBe(200);
    expect(served.body.usage.completion_tokens).toBe(8);
    expect(workerLog).toContain("backend is down");
    expect(workerLog).toContain("backend is back");
  }, 60_000);

  test("a model the engine does not serve stops start with the clear error: what it serves and the fix", async () => {
    const result = await run([WORKER_BIN, "start"], {
      BASIS_WORKER_WALLET: WALLET,
      BASIS_WORKER_RUNTIME: "llamacpp",
      BASIS_LLAMACPP_URL: engine.url,
      BASIS_LLAMACPP_MODEL: "llama3.2",
      BASIS_ORCHESTRATOR_URL: orchestrator.url,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("model_missing");
    expect(result.stderr).toContain('llama-server at http://127.0.0.1:');
    expect(result.stderr).toContain('does not serve the model "llama3.2"');
    expect(result.stderr).toContain("--alias llama3.2");
    expect(result.stderr).toContain(`It serves: ${MODEL}`);
    expect(orchestrator.registry.size).toBe(0);
  }, 30_000);

  test("a job for a model no worker serves is refused by name", async () => {
    await startWorker();
    const response = await dispatch(orchestrator, { model: "llama3.2", messages: MESSAGES, max_tokens: 4 });
    expect(response.status).toBe(404);
    expect(JSON.stringify(await response.json())).toContain("No online worker serves the model llama3.2");
  }, 30_000);
});
