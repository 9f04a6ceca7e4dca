/**
 * Two orchestrators on one PostgreSQL (started by the suite), joined by the Socket.io postgres
 * adapter: a worker connected to A serves dispatches that arrive at B, and either instance's API
 * answers for it. Real sockets, real HTTP, a real database.
 */
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { composeEchoAnswer } from "../../lib/core/echo.ts";
import type { Orchestrator } from "../../lib/orchestrator/server.ts";
import { dispatch, ScriptedRuntime, startTestOrchestrator, startTestWorker, waitUntil } from "../helpers/harness.ts";
import { freshDatabase, testPostgres } from "../helpers/postgres.ts";

// The server starts here, in a hook with room to spare: a test that timed out while it booted
// would have it killed by the runner, and every later test with it.
beforeAll(() => testPostgres().then(() => undefined), 60_000);

const messages = [{ role: "user", content: "hello there worker" }];
const started: Orchestrator[] = [];
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  for (const orchestrator of started.splice(0)) await orchestrator.close();
});

const INTERNAL = "internal-test-secret";

async function pair(jobTimeoutMs = 5_000): Promise<{ a: Orchestrator; b: Orchestrator; url: string }> {
  const url = await freshDatabase("cluster");
  // A request that finds every worker busy waits briefly, then gets 429.
  const options = { databaseUrl: url, jobTimeoutMs, internalApiSecret: INTERNAL, queue: { maxPerModel: 16, timeoutMs: 300 } };
  const [a, b] = await Promise.all([startTestOrchestrator(options), startTestOrchestrator(options)]);
  started.push(a, b);
  // Each instance must see the other before a job can cross.
  await waitUntil("the two instances to see each other", async () => (await a.cluster!.instances()) === 2 && (await b.cluster!.instances()) === 2);
  return { a, b, url };
}

async function workerOn(orchestrator: Orchestrator, runtime?: ScriptedRuntime) {
  const handle = await startTestWorker(orchestrator, {}, runtime);
  stops.push(handle.stop);
  await waitUntil("worker online", () => orchestrator.registry.get("test-worker") !== undefined);
  return handle;
}

async function workerView(orchestrator: Orchestrator) {
  const res = await fetch(`${orchestrator.url}/api/workers/test-worker`);
  return ((await res.json()) as { worker: Record<string, unknown> }).worker;
}

async function ledger(url: string): Promise<{ job_id: string; job_status: string }[]> {
  const sql = new SQL(url, { max: 1 });
  try {
    return (await sql`SELECT job_id, job_status FROM reward_entries ORDER BY job_id`) as { job_id: string; job_status: string }[];
  } finally {
    await sql.close();
  }
}

describe("two orchestrators on one PostgreSQL", () => {
  test("a worker connected to A serves a dispatch that arrived at B, whole and streamed; each job is recorded once", async () => {
    const { a, b, url } = await pair();
    await workerOn(a);
    expect(b.registry.get("test-worker")).toBeUndefined();
    const expected = composeEchoAnswer(messages as never, 20).tokens.join("");

    const whole = await dispatch(b, { model: "basis-default", messages, max_tokens: 20 });
    expect(whole.status).toBe(200);
    expect(whole.headers.get("x-basis-worker-id")).toBe("test-worker");
    const body = (await whole.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]!.message.content).toBe(expected);

    const streamed = await dispatch(b, { model: "basis-default", messages, max_tokens: 20, stream: true });
    expect(streamed.status).toBe(200);
    const events = (await streamed.text()).split("\n\n").filter((line) => line.startsWith("data: {"));
    const text = events.map((line) => (JSON.parse(line.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? "").join("");
    expect(text).toBe(expected);
    // More than the role event and the finish: the chunks crossed instances one by one.
    expect(events.length).toBeGreaterThan(3);

    const jobIds = [whole.headers.get("x-basis-job-id"), streamed.headers.get("x-basis-job-id")].sort();
    expect(await ledger(url)).toEqual(jobIds.map((job_id) => ({ job_id: job_id as string, job_status: "completed" })));
    expect((await b.store.getWorker("test-worker"))?.jobs_completed).toBe(2);
  });

  test("either instance's API answers for the worker: online, available, load and capacity", async () => {
    const { a, b } = await pair();
    const runtime = new ScriptedRuntime("hold");
    await workerOn(a, runtime);
    expect(await workerView(b)).toMatchObject({ online: true, available: true, activeJobs: 0, capacity: 1 });
    // What crossed to B is the worker's presence, never its token proof (it travels through the database).
    const remote = await b.cluster!.fleet.get("test-worker");
    expect(remote).toMatchObject({ local: false, info: { worker_id: "test-worker", models: ["basis-default"] } });
    expect(Object.keys(remote!.info)).not.toContain("proof");
    expect(Object.keys(remote!.info)).not.toContain("token");
    const pending = dispatch(b, { model: "basis-default", messages });
    await waitUntil("the job to start on the worker", () => runtime.started === 1);
    for (const orchestrator of [a, b]) expect(await workerView(orchestrator)).toMatchObject({ online: true, activeJobs: 1 });
    // Full: a second job finds no free worker on either instance, waits, and is turned away.
    const refused = await dispatch(a, { model: "basis-default", messages });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    runtime.release?.();
    expect((await pending).status).toBe(200);
    await waitUntil("the slot to free", async () => (await workerView(b)).activeJobs === 0);
    const onboarding = (await (await fetch(`${b.url}/api/workers/onboarding/status?worker_id=test-worker`)).json()) as Record<string, any>;
    expect(onboarding).toMatchObject({ canReceiveJobs: true, orchestrator: { workersOnline: 1 }, worker: { online: true, available: true } });
    // The worker's backend goes down: B reads it unavailable (still online) and routes it nothing.
    runtime.healthy_ = false;
    await waitUntil("B to read the worker unavailable", async () => (await workerView(b)).available === false);
    expect(await workerView(b)).toMatchObject({ online: true, available: false });
    expect((await dispatch(b, { model: "basis-default", messages })).status).toBe(503);
  });

  test("a client that goes away at B cancels the job on the worker at A", async () => {
    const { a, b } = await pair();
    const runtime = new ScriptedRuntime("hold");
    await workerOn(a, runtime);
    const client = new AbortController();
    const pending = dispatch(b, { model: "basis-default", messages }, { signal: client.signal }).catch((error: Error) => error);
    await waitUntil("the job to start on the worker", () => runtime.started === 1);
    client.abort();
    expect(await pending).toBeInstanceOf(Error);
    await waitUntil("the worker to see the cancel", () => runtime.aborted === 1);
    await waitUntil("the slot to free on A", () => a.registry.get("test-worker")?.active === 0);
  });

  test("an instance that stops fails its relayed job to its client and the worker on the other instance is told to stop", async () => {
    const { a, b } = await pair();
    const runtime = new ScriptedRuntime("hold");
    await workerOn(a, runtime);
    const pending = dispatch(b, { model: "basis-default", messages }).then(
      (res) => res.status,
      () => "connection lost",
    );
    await waitUntil("the job to start on the worker", () => runtime.started === 1);
    const session = a.registry.get("test-worker");
    started.splice(started.indexOf(b), 1);
    await b.close();
    expect([502, "connection lost"]).toContain(await pending);
    await waitUntil("the worker to see the cancel", () => runtime.aborted === 1);
    await waitUntil("the slot to free on A", () => a.registry.get("test-worker")?.active === 0);
    // B's shutdown ended B's sockets only: the worker's session on A is the same one.
    expect(a.registry.get("test-worker")).toBe(session);
  });

  test("a worker that drops off A fails B's job cleanly, recorded once as failed", async () => {
    const { a, b, url } = await pair();
    const runtime = new ScriptedRuntime("hold");
    await workerOn(a, runtime);
    const pending = dispatch(b, { model: "basis-default", messages });
    await waitUntil("the job to start on the worker", () => runtime.started === 1);
    a.registry.get("test-worker")?.socket.disconnect(true);
    const res = await pending;
    runtime.release?.();
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("worker_failed");
    const rows = await ledger(url);
    expect(rows.map((row) => row.job_status)).toEqual(["failed"]);
  });

  test("B runs the verification job on a worker connected to A and records the verdict in the shared store", async () => {
    const { a, b } = await pair();
    await workerOn(a);
    const res = await fetch(`${b.url}/api/workers/test-worker/verification`, { method: "POST", headers: { authorization: `Bearer ${INTERNAL}` } });
    expect(res.status).toBe(200);
    // The echo simulator never passes; what matters is that the job crossed and was judged.
    expect(await res.json()).toMatchObject({ worker_id: "test-worker", model: "basis-default", passed: false, reasons: expect.arrayContaining(["simulator"]) });
    const rewards = (await (await fetch(`${a.url}/api/workers/test-worker/rewards`)).json()) as { entries: { reason: string | null }[] };
    expect(rewards.entries).toHaveLength(1);
  });

  test("with no worker on any instance, a dispatch is a 404 model_not_found", async () => {
    const { b } = await pair();
    const res = await dispatch(b, { model: "basis-default", messages });
    expect(res.status).toBe(404);
  });
});
