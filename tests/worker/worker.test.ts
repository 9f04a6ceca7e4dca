import { afterEach, describe, expect, test } from "bun:test";
import { createConsola } from "consola";
import OpenAI from "openai";
import { composeEchoAnswer } from "../../lib/core/echo.ts";
import { devToken } from "../../lib/core/token.ts";
import { DEFAULT_TRUST } from "../../lib/orchestrator/sessions.ts";
import type { Orchestrator } from "../../lib/orchestrator/server.ts";
import { dispatch, ScriptedRuntime, startTestOrchestrator, startTestWorker, WALLET, waitUntil } from "../helpers/harness.ts";

const messages = [{ role: "user", content: "hello there worker" }];
let orchestrator: Orchestrator | undefined;
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await orchestrator?.close();
  orchestrator = undefined;
});

async function online(env: Record<string, string> = {}, runtime?: ScriptedRuntime) {
  orchestrator ??= await startTestOrchestrator({ jobTimeoutMs: 2_000 });
  const handle = await startTestWorker(orchestrator, env, runtime);
  stops.push(handle.stop);
  await waitUntil("worker online", () => orchestrator?.registry.get(env.BASIS_WORKER_ID ?? "test-worker") !== undefined);
  return handle;
}

describe("Worker with the echo runtime", () => {
  test("serves a dispatched job with the echo answer, usage and worker headers", async () => {
    const { worker } = await online();
    const res = await dispatch(orchestrator!, { model: "basis-default", messages, max_tokens: 50 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; choices: { message: { content: string }; finish_reason: string }[]; usage: Record<string, number> };
    const expected = composeEchoAnswer(messages as never, 50);
    expect(body.object).toBe("chat.completion");
    expect(body.choices[0]!.message.content).toBe(expected.tokens.join(""));
    expect(body.choices[0]!.finish_reason).toBe("stop");
    expect(body.usage).toEqual({ prompt_tokens: 3, completion_tokens: expected.tokens.length, total_tokens: 3 + expected.tokens.length });
    expect(res.headers.get("x-basis-worker-id")).toBe("test-worker");
    expect(res.headers.get("x-basis-worker-wallet")).toBe(WALLET);
    expect(res.headers.get("x-basis-payable")).toBe("false");
    expect(worker.state.completed).toBe(1);
    expect((await orchestrator!.store.getWorker("test-worker"))?.jobs_completed).toBe(1);
  });

  test("is reachable through the official openai client, streaming and not", async () => {
    await online();
    const client = new OpenAI({ baseURL: `${orchestrator!.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const expected = composeEchoAnswer(messages as never, 5);
    const completion = await client.chat.completions.create({ model: "basis-default", messages: messages as never, max_tokens: 5 });
    expect(completion.choices[0]!.message.content).toBe(expected.tokens.join(""));
    expect(completion.choices[0]!.finish_reason).toBe("length");
    const stream = await client.chat.completions.create({
      model: "basis-default",
      messages: messages as never,
      max_tokens: 5,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let chunks = 0;
    let usage: unknown;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(expected.tokens.join(""));
    expect(chunks).toBeGreaterThan(2);
    expect(usage).toEqual({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });
  });

  test("answers 404 model_not_found for a model no worker advertises", async () => {
    await online();
    const res = await dispatch(orchestrator!, { model: "basis-large", messages });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { message: "No online worker serves the model basis-large.", type: "not_found_error", param: "model", code: "model_not_found" } });
  });
});

describe("Worker job control", () => {
  test("takes jobs only up to its concurrency; the next waits in the queue and runs when the slot frees", async () => {
    const runtime = new ScriptedRuntime("hold");
    await online({}, runtime);
    const first = dispatch(orchestrator!, { model: "basis-default", messages });
    await waitUntil("first job running", () => runtime.started === 1);
    const second = dispatch(orchestrator!, { model: "basis-default", messages });
    const queued = async () => (await orchestrator!.metrics.registry.getSingleMetric("basis_dispatches_queued_total")?.get())?.values[0]?.value ?? 0;
    await waitUntil("second queued", async () => (await queued()) >= 1);
    expect(runtime.started).toBe(1);
    runtime.release?.();
    expect((await first).status).toBe(200);
    await waitUntil("second job running", () => runtime.started === 2);
    runtime.release?.();
    expect((await second).status).toBe(200);
  });

  test("a failing backend becomes a failed job with a fixed message, never a partial answer; the detail goes to the log", async () => {
    const logged: string[] = [];
    const log = createConsola({ reporters: [{ log: (entry) => void logged.push(entry.args.join(" ")) }] });
    orchestrator = await startTestOrchestrator({ jobTimeoutMs: 2_000, log });
    const { worker } = await online({}, new ScriptedRuntime("fail"));
    const res = await dispatch(orchestrator, { model: "basis-default", messages });
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      error: { message: "The worker's model backend failed the job.", type: "server_error", param: null, code: "worker_failed", worker_error: "backend_error" },
    });
    expect(text).not.toContain("exploded");
    expect(logged.some((line) => line.includes("backend_error: model exploded"))).toBe(true);
    expect(worker.state.failed).toBe(1);
    expect((await orchestrator.store.getWorker("test-worker"))?.jobs_completed).toBe(0);
  });

  test("a job past its deadline answers 504 and the worker's runtime is aborted", async () => {
    const runtime = new ScriptedRuntime("hold");
    orchestrator = await startTestOrchestrator({ jobTimeoutMs: 200 });
    await online({}, runtime);
    const res = await dispatch(orchestrator, { model: "basis-default", messages });
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("worker_timeout");
    await waitUntil("upstream aborted", () => runtime.aborted === 1);
  });

  test("a client that goes away cancels the job on the worker", async () => {
    const runtime = new ScriptedRuntime("hold");
    await online({}, runtime);
    const client = new AbortController();
    const pending = dispatch(orchestrator!, { model: "basis-default", messages }, { signal: client.signal }).catch(() => "aborted");
    await waitUntil("job running", () => runtime.started === 1);
    client.abort();
    expect(await pending).toBe("aborted");
    await waitUntil("upstream aborted", () => runtime.aborted === 1);
    // Still a routed job: one ledger line, failed, worth 0, saying why.
    await waitUntil("ledger line", async () => (await orchestrator!.store.countRewardEntries("test-worker")) === 1);
    expect(await orchestrator!.store.listRewardEntries("test-worker", 5)).toEqual([
      expect.objectContaining({ job_status: "failed", state: "not_payable", charged_raw: "0", reward_raw: "0", reason: "client_gone" }),
    ]);
  });

  test("a backend that goes down makes the worker unavailable until it returns", async () => {
    const runtime = new ScriptedRuntime("answer");
    const { worker } = await online({}, runtime);
    runtime.healthy_ = false;
    await waitUntil("marked unavailable", () => orchestrator!.registry.get("test-worker")?.available === false);
    expect(worker.heartbeatLine()).toContain("backend DOWN");
    expect((await dispatch(orchestrator!, { model: "basis-default", messages })).status).toBe(503);
    runtime.healthy_ = true;
    await waitUntil("available again", () => orchestrator!.registry.get("test-worker")?.available === true);
    expect((await dispatch(orchestrator!, { model: "basis-default", messages })).status).toBe(200);
  });

  test("drain finishes the in-flight job, refuses new ones, then disconnects", async () => {
    const runtime = new ScriptedRuntime("hold");
    const { worker } = await online({}, runtime);
    const inflight = dispatch(orchestrator!, { model: "basis-default", messages });
    await waitUntil("job running", () => runtime.started === 1);
    const drained = worker.drain();
    await waitUntil("draining seen", () => orchestrator!.registry.get("test-worker")?.draining === true);
    expect((await dispatch(orchestrator!, { model: "basis-default", messages })).status).toBe(503);
    runtime.release?.();
    expect((await inflight).status).toBe(200);
    expect(await drained).toEqual({ unfinished: 0 });
    await waitUntil("offline", () => orchestrator!.registry.get("test-worker") === undefined);
  });

  test("the heartbeat line says connected, id, idle or busy, and jobs completed", async () => {
    const { worker } = await online();
    await waitUntil("connected", () => worker.state.connected);
    expect(worker.heartbeatLine()).toBe("heartbeat: connected, worker test-worker, idle, 0 jobs completed");
  });
});

describe("First-token timeout and replaced sessions", () => {
  test("a worker that sends no token in time is cancelled there and the job is served by another", async () => {
    orchestrator = await startTestOrchestrator({ firstTokenTimeoutMs: 300, jobTimeoutMs: 10_000, trust: DEFAULT_TRUST });
    const silent = new ScriptedRuntime("silent");
    await online({ BASIS_WORKER_ID: "black-hole" }, silent);
    await online({ BASIS_WORKER_ID: "honest" });
    // Two at once: least-loaded routing gives one to each worker.
    const answers = await Promise.all([0, 1].map(() => dispatch(orchestrator!, { model: "basis-default", messages })));
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    for (const answer of answers) expect(answer.headers.get("x-basis-worker-id")).toBe("honest");
    await waitUntil("the black hole's job cancelled", () => silent.aborted === 1);
    const hole = orchestrator!.registry.get("black-hole")!;
    expect(hole.capacity).toBe(1);
    expect(hole.cooldownUntil).toBeGreaterThan(Date.now());
  });

  test("a whole (non-streamed) answer is not cancelled once its first token came, however long the rest takes", async () => {
    orchestrator = await startTestOrchestrator({ firstTokenTimeoutMs: 300, jobTimeoutMs: 10_000 });
    const runtime = new ScriptedRuntime("hold");
    await online({}, runtime);
    const pending = dispatch(orchestrator!, { model: "basis-default", messages });
    await waitUntil("job running", () => runtime.started === 1);
    const since = Date.now();
    await waitUntil("past the first-token timeout", () => Date.now() - since > 600);
    runtime.release?.();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(runtime.aborted).toBe(0);
  });

  test("with no other worker, no first token ends in 504", async () => {
    orchestrator = await startTestOrchestrator({ firstTokenTimeoutMs: 300, jobTimeoutMs: 10_000 });
    await online({}, new ScriptedRuntime("silent"));
    const res = await dispatch(orchestrator!, { model: "basis-default", messages });
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("worker_timeout");
  });
});

describe("Worker handshake", () => {
  test("a refused token rejects start with the orchestrator's reason", async () => {
    orchestrator = await startTestOrchestrator({ policy: { authKey: "k".repeat(32) } });
    const { started } = await startTestWorker(orchestrator, { BASIS_WORKER_TOKEN: devToken(WALLET) });
    await expect(started).rejects.toMatchObject({ code: "handshake_refused", exitCode: 3 });
    await expect(started).rejects.toThrow("token_invalid");
    expect(orchestrator.registry.size).toBe(0);
  });

  test("a worker id bound to another wallet is refused", async () => {
    orchestrator = await startTestOrchestrator();
    await orchestrator.store.registerWorker({ worker_id: "test-worker", worker_wallet: `0x${"1".repeat(40)}`, runtime: "echo", models: ["m"], at: 0 });
    const { started } = await startTestWorker(orchestrator);
    await expect(started).rejects.toThrow("worker_id_bound_to_other_wallet");
  });
});

describe("Worker reconnection", () => {
  test("comes back online by itself after the orchestrator restarts on the same port", async () => {
    orchestrator = await startTestOrchestrator();
    const port = orchestrator.port;
    const { worker, stop } = await startTestWorker(orchestrator);
    stops.push(stop);
    await waitUntil("connected", () => worker.state.connected);
    await orchestrator.close();
    await waitUntil("disconnected", () => !worker.state.connected);
    orchestrator = await startOrchestratorOn(port);
    await waitUntil("reconnected", () => orchestrator!.registry.get("test-worker") !== undefined, 15_000);
    expect((await dispatch(orchestrator, { model: "basis-default", messages })).status).toBe(200);
  }, 20_000);
});

async function startOrchestratorOn(port: number): Promise<Orchestrator> {
  const { startOrchestrator } = await import("../../lib/orchestrator/server.ts");
  const { quietLog } = await import("../helpers/harness.ts");
  return startOrchestrator({ host: "127.0.0.1", port, log: quietLog, policy: {} });
}
