/**
 * The gateway as stock OpenAI clients see it, through the official `openai` client unchanged:
 * models, error messages, unknown models, the bounded queue, aborts, moving a failed job,
 * errors after tokens, and routing across workers of different speed and price.
 */
import { afterEach, describe, expect, test } from "bun:test";
import OpenAI, { APIError, BadRequestError, NotFoundError, RateLimitError } from "openai";
import { BasisError } from "../../lib/core/errors.ts";
import type { InferenceRequest } from "../../lib/core/protocol.ts";
import type { Orchestrator } from "../../lib/orchestrator/server.ts";
import type { RunOptions, RunResult, Runtime } from "../../lib/worker/runtimes/runtime.ts";
import { ScriptedRuntime, startTestOrchestrator, startTestWorker, WALLET, waitUntil } from "../helpers/harness.ts";
import { seededUniform as seeded } from "../../scripts/tiny-model.ts";

const ASK = [{ role: "user" as const, content: "hello" }];
let orchestrator: Orchestrator | undefined;
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await orchestrator?.close();
  orchestrator = undefined;
});

async function serve(options: Parameters<typeof startTestOrchestrator>[0] = {}) {
  orchestrator = await startTestOrchestrator({ jobTimeoutMs: 10_000, ...options });
  return new OpenAI({ baseURL: `${orchestrator.url}/v1`, apiKey: "unused", maxRetries: 0 });
}

async function online(id: string, runtime?: Runtime, env: Record<string, string> = {}) {
  const handle = await startTestWorker(orchestrator!, { BASIS_WORKER_ID: id, ...env }, runtime);
  stops.push(handle.stop);
  await waitUntil(`${id} online`, () => orchestrator!.registry.get(id) !== undefined);
}

/** A backend that takes `delayMs` before its first token, then answers four tokens. */
class PacedRuntime implements Runtime {
  readonly name = "vllm" as const;
  runs = 0;
  constructor(private readonly delayMs: number) {}
  backendModel(advertised: string) {
    return advertised;
  }
  async check() {}
  async healthy() {
    return true;
  }
  async run(_request: InferenceRequest, options: RunOptions): Promise<RunResult> {
    this.runs++;
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    for (let i = 0; i < 4; i++) options.onDelta({ content: "tok " });
    return { text: "tok tok tok tok ", finish_reason: "stop", usage: { prompt_tokens: 1, completion_tokens: 4 } };
  }
}

/** Streams some text, then the backend dies. */
class BreaksMidAnswer extends PacedRuntime {
  override async run(_request: InferenceRequest, options: RunOptions): Promise<RunResult> {
    options.onDelta({ content: "half an " });
    await new Promise((resolve) => setTimeout(resolve, 20));
    throw new BasisError("backend_error", "CUDA error");
  }
}

async function offer(workerId: string, outputAsk: string) {
  const now = Date.now();
  const manifest = { models: [{ model_id: "basis-default", output_credits_per_1m: outputAsk }] };
  const outcome = await orchestrator!.store.insertOffer({
    offer_id: `off_${workerId}`, worker_id: workerId, worker_wallet: WALLET, nonce: `nonce-${workerId}`,
    issued_at: now - 1_000, valid_until: now + 3_600_000, manifest: JSON.stringify(manifest), flags: "[]", accepted_at: now,
  });
  expect(outcome.ok).toBe(true);
}

describe("models and errors", () => {
  test("models.list and models.retrieve show what online workers serve; an unknown one is 404", async () => {
    const client = await serve();
    await online("w-1", undefined, { BASIS_WORKER_MODELS: "basis-default,basis-small" });
    await online("w-2", undefined, { BASIS_WORKER_MODELS: "basis-default" });
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(["basis-default", "basis-small"]);
    expect(await client.models.retrieve("basis-default")).toMatchObject({ id: "basis-default", object: "model", owned_by: "basis", workers: 2 });
    const missing = await client.models.retrieve("basis-large").catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
  });

  test("the SDK shows our message, param and code; an unknown model is a 404 it does not retry", async () => {
    const client = await serve();
    await online("w-1");
    const bad = (await client.chat.completions.create({ model: "basis-default", messages: ASK, n: 3 }).catch((e: unknown) => e)) as BadRequestError;
    expect(bad).toBeInstanceOf(BadRequestError);
    expect(bad.message).toContain("Only n: 1 is served");
    expect(bad.param).toBe("n");
    expect(bad.code).toBe("unsupported_parameter");
    // Default retries on: a 404 is answered at once, never retried.
    let calls = 0;
    const counted: typeof fetch = Object.assign((input: RequestInfo | URL, init?: RequestInit) => {
      calls++;
      return fetch(input, init);
    }, { preconnect: fetch.preconnect });
    const retrying = new OpenAI({ baseURL: `${orchestrator!.url}/v1`, apiKey: "unused", fetch: counted });
    const missing = (await retrying.chat.completions.create({ model: "no-such-model", messages: ASK }).catch((e: unknown) => e)) as NotFoundError;
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing.code).toBe("model_not_found");
    expect(missing.message).toContain("No online worker serves the model no-such-model");
    expect(calls).toBe(1);
  });
});

describe("the queue", () => {
  test("a full queue answers 429 with Retry-After; a client that leaves frees its place at once", async () => {
    const client = await serve({ queue: { maxPerModel: 1, timeoutMs: 20_000 } });
    const runtime = new ScriptedRuntime("hold");
    await online("w-1", runtime);
    const first = client.chat.completions.create({ model: "basis-default", messages: ASK });
    await waitUntil("first running", () => runtime.started === 1);
    const leaving = new AbortController();
    const second = client.chat.completions.create({ model: "basis-default", messages: ASK }, { signal: leaving.signal }).catch((e: unknown) => e);
    const queued = async () => (await orchestrator!.metrics.registry.getSingleMetric("basis_dispatches_queued_total")?.get())?.values[0]?.value ?? 0;
    await waitUntil("second queued", async () => (await queued()) >= 1);

    const full = (await client.chat.completions.create({ model: "basis-default", messages: ASK }).catch((e: unknown) => e)) as RateLimitError;
    expect(full).toBeInstanceOf(RateLimitError);
    expect(full.code).toBe("capacity_exhausted");
    expect(full.headers?.get("retry-after")).toBe("20");

    leaving.abort();
    expect(await second).toBeInstanceOf(Error);
    const waiting = async () => (await orchestrator!.metrics.registry.getSingleMetric("basis_queue_waiting")?.get())?.values.find((v) => v.labels.model === "basis-default")?.value ?? 0;
    await waitUntil("the queue to see it leave", async () => (await waiting()) === 0);
    // Its place is free: the next request queues instead of being turned away.
    const third = client.chat.completions.create({ model: "basis-default", messages: ASK });
    await waitUntil("third queued", async () => (await queued()) >= 2);
    runtime.release?.();
    expect((await first).choices[0]!.message.content).toBe("partial answer");
    await waitUntil("third running", () => runtime.started === 2);
    runtime.release?.();
    expect((await third).choices[0]!.message.content).toBe("partial answer");
  });

  test("a request that waits past BASIS_QUEUE_TIMEOUT_MS gets 429 with Retry-After", async () => {
    const client = await serve({ queue: { maxPerModel: 8, timeoutMs: 150 } });
    const runtime = new ScriptedRuntime("hold");
    await online("w-1", runtime);
    const first = client.chat.completions.create({ model: "basis-default", messages: ASK });
    await waitUntil("first running", () => runtime.started === 1);
    const late = (await client.chat.completions.create({ model: "basis-default", messages: ASK }).catch((e: unknown) => e)) as RateLimitError;
    expect(late).toBeInstanceOf(RateLimitError);
    expect(late.headers?.get("retry-after")).toBe("1");
    runtime.release?.();
    await first;
  });
});

describe("shutdown with a queue", () => {
  test("requests still waiting get 503 shutting_down with Retry-After at once; the running job finishes", async () => {
    const client = await serve({ queue: { maxPerModel: 8, timeoutMs: 20_000 } });
    const runtime = new ScriptedRuntime("hold");
    await online("w-1", runtime);
    const running = client.chat.completions.create({ model: "basis-default", messages: ASK });
    await waitUntil("first running", () => runtime.started === 1);
    const waiting = client.chat.completions.create({ model: "basis-default", messages: ASK }).catch((e: unknown) => e);
    const queued = async () => (await orchestrator!.metrics.registry.getSingleMetric("basis_dispatches_queued_total")?.get())?.values[0]?.value ?? 0;
    await waitUntil("second queued", async () => (await queued()) >= 1);
    const stopped = orchestrator!.shutdown(10_000);
    const turnedAway = (await waiting) as APIError;
    expect(turnedAway.status).toBe(503);
    expect(turnedAway.code).toBe("shutting_down");
    expect(turnedAway.headers?.get("retry-after")).toBe("5");
    runtime.release?.();
    expect((await running).choices[0]!.message.content).toBe("partial answer");
    expect(await stopped).toEqual({ unfinished: 0 });
    orchestrator = undefined;
  });
});

describe("failures and aborts", () => {
  test("aborting a stream mid-answer cancels the job on its worker", async () => {
    const client = await serve();
    const runtime = new ScriptedRuntime("hold");
    await online("w-1", runtime);
    const stream = await client.chat.completions.create({ model: "basis-default", messages: ASK, stream: true });
    let text = "";
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (text.includes("partial")) stream.controller.abort();
    }
    await waitUntil("the worker's job cancelled", () => runtime.aborted === 1);
  });

  test("a worker that fails before its first token: the job moves to another once", async () => {
    // random() = 0 picks the first eligible worker: the failing one, connected first.
    const client = await serve({ random: () => 0 });
    const failing = new ScriptedRuntime("fail");
    await online("w-fail", failing);
    await online("w-good", new PacedRuntime(1));
    const answer = await client.chat.completions.create({ model: "basis-default", messages: ASK });
    expect(answer.choices[0]!.message.content).toBe("tok tok tok tok ");
    expect(failing.started).toBe(1);
    const value = async (name: string, labels: Record<string, string>) =>
      (await orchestrator!.metrics.registry.getSingleMetric(name)?.get())?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
    expect(await value("basis_jobs_moved_total", { model: "basis-default", reason: "worker_failed" })).toBe(1);
    expect(await value("basis_worker_penalties_total", { worker_id: "w-fail", reason: "worker_failed" })).toBe(1);
  });

  test("after tokens have streamed, a failure is an error event, never a silent truncation", async () => {
    const client = await serve();
    await online("w-1", new BreaksMidAnswer(1));
    const stream = await client.chat.completions.create({ model: "basis-default", messages: ASK, stream: true });
    let text = "";
    const read = async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    };
    const error = await read().catch((e: unknown) => e);
    expect(text).toBe("half an ");
    expect(error).toBeInstanceOf(APIError);
    expect(String((error as Error).message)).toContain("backend");
  });
});

describe("routing", () => {
  test("three workers of different speed and price: the fast cheap one gets most, each gets some; a price cap is kept", async () => {
    const client = await serve({ random: seeded(13) });
    const fast = new PacedRuntime(1);
    // Far apart, so a loaded machine's timing noise cannot reorder them.
    const medium = new PacedRuntime(30);
    const slow = new PacedRuntime(60);
    await online("fast", fast);
    await online("medium", medium);
    await online("slow", slow);
    await offer("fast", "1000000000");
    await offer("medium", "1840000000");
    await offer("slow", "3000000000");
    for (let i = 0; i < 150; i++) await client.chat.completions.create({ model: "basis-default", messages: ASK });
    expect(fast.runs + medium.runs + slow.runs).toBe(150);
    // Most to the fast, cheap one; the others still get some (the weight floor spreads load).
    expect(fast.runs).toBeGreaterThan(2 * (medium.runs + slow.runs));
    expect(medium.runs).toBeGreaterThan(0);
    expect(slow.runs).toBeGreaterThan(0);

    const before = slow.runs + medium.runs;
    const capped = client.withOptions({ defaultHeaders: { "x-basis-max-price": "1000000000" } });
    for (let i = 0; i < 20; i++) await capped.chat.completions.create({ model: "basis-default", messages: ASK });
    expect(slow.runs + medium.runs).toBe(before);
    const tooLow = await client.chat.completions
      .create({ model: "basis-default", messages: ASK }, { headers: { "x-basis-max-price": "5" } })
      .catch((e: unknown) => e);
    expect((tooLow as APIError).status).toBe(402);
    expect((tooLow as APIError).code).toBe("no_worker_within_price");
  });
});
