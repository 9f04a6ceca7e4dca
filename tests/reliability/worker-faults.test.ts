/**
 * Faults on the worker side, with the compiled binaries: a worker killed (-9) mid-stream and
 * mid-job, its backend killed and brought back, a worker stopped (SIGTERM) with jobs in flight.
 * Every request gets exactly one terminal answer and every routed job exactly one ledger line.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { requireBinaries } from "../helpers/binaries.ts";
import { Cluster, FAKE_MODEL, readEvents, type RunningOrchestrator, waitFor } from "./_cluster.ts";

requireBinaries();

const ask = (tokens: number, stream = false) => ({ model: FAKE_MODEL, messages: [{ role: "user", content: "ping" }], max_tokens: tokens, ...(stream ? { stream } : {}) });

let cluster: Cluster;
let orchestrator: RunningOrchestrator;
beforeAll(async () => {
  cluster = new Cluster();
  orchestrator = await cluster.startOrchestrator();
});
afterAll(async () => {
  await cluster.close();
});

async function workerState(id: string): Promise<{ online: boolean; available: boolean; jobsCompleted: number }> {
  const res = await fetch(`${orchestrator.url}/api/workers/${id}`);
  return ((await res.json()) as { worker: { online: boolean; available: boolean; jobsCompleted: number } }).worker;
}

/** A streamed 40-token job: `streaming` settles at its first token, `streamed` at its end. */
function streamJob() {
  let firstContent!: () => void;
  const streaming = new Promise<void>((resolve) => {
    firstContent = resolve;
  });
  const streamed = cluster.dispatch(orchestrator, ask(40, true)).then((res) => {
    expect(res.status).toBe(200);
    return readEvents(res, firstContent);
  });
  return { streaming, streamed };
}

describe("a worker killed with SIGKILL", () => {
  test("mid-stream and mid-job: each client gets one failure answer, each job one failed ledger line; the worker comes back", async () => {
    // 40 tokens at 25 ms: a job runs about a second, long enough to kill its worker inside it.
    const backend = await cluster.startBackend(0, 25);
    const worker = await cluster.startWorker(orchestrator, { id: "kill-me", runtime: "openai", concurrency: 2, backendUrl: backend.url });
    const before = cluster.ledger();

    const { streaming, streamed } = streamJob();
    const plain = cluster.dispatch(orchestrator, ask(40));
    await streaming;
    await cluster.kill(worker);

    const stream = await streamed;
    expect(stream.content.length).toBeGreaterThan(0);
    expect(stream.errors).toEqual([expect.objectContaining({ code: "worker_failed", message: "The worker disconnected before finishing." })]);
    expect(stream.done).toBe(true);
    const answer = await plain;
    expect(answer.status).toBe(502);
    expect(await answer.json()).toEqual({
      error: { code: "worker_failed", message: "The worker disconnected before finishing.", param: null, type: "server_error", worker_error: "worker_disconnected" },
    });

    const after = cluster.ledger();
    expect(after.lines - before.lines).toBe(2);
    expect(after.failed - before.failed).toBe(2);
    expect(after.completed - before.completed).toBe(0);
    expect((await workerState("kill-me")).online).toBe(false);

    // Restarted (its pid file points at a dead process), it serves again once the cooldown its
    // two failed jobs earned is over (docs/PROTOCOL.md, "Earned capacity"): until then, 503s.
    const again = await cluster.startWorker(orchestrator, { id: "kill-me", runtime: "openai", concurrency: 2, backendUrl: backend.url });
    try {
      await waitFor("served again", async () => (await cluster.dispatch(orchestrator, ask(2))).status === 200, 15_000);
      expect((await workerState("kill-me")).jobsCompleted).toBe(1);
    } finally {
      await cluster.group.stop(again);
      await cluster.group.stop(backend.child);
    }
  });
});

describe("a backend killed and brought back", () => {
  test("the job in flight fails once; the worker reads unavailable, then serves again on the backend's return", async () => {
    const backend = await cluster.startBackend(0, 25);
    const worker = await cluster.startWorker(orchestrator, { id: "backend-down", runtime: "openai", concurrency: 2, backendUrl: backend.url });
    const before = cluster.ledger();

    const { streaming, streamed } = streamJob();
    await streaming;
    await cluster.kill(backend.child);
    const stream = await streamed;
    expect(stream.errors).toEqual([expect.objectContaining({ code: "worker_failed", message: "The worker's model backend failed the job." })]);
    expect(stream.done).toBe(true);

    // The worker's health poll (every 5 s) takes it out of rotation: no job is offered to it.
    await waitFor("worker unavailable", async () => (await workerState("backend-down")).available === false, 15_000);
    const refused = await cluster.dispatch(orchestrator, ask(2));
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("no_worker_available");

    const back = await cluster.startBackend(backend.port, 0);
    await waitFor("worker available again", async () => (await workerState("backend-down")).available === true, 15_000);
    const served = await cluster.dispatch(orchestrator, ask(2));
    expect(served.status).toBe(200);

    // One line for the job the backend died under; none for the refused request; one for the served.
    const after = cluster.ledger();
    expect(after.lines - before.lines).toBe(2);
    expect(after.failed - before.failed).toBe(1);
    expect(after.completed - before.completed).toBe(1);
    await cluster.group.stop(worker);
    await cluster.group.stop(back.child);
  }, 60_000);
});

describe("a worker stopped with SIGTERM", () => {
  test("finishes every job in flight, answers each, then leaves", async () => {
    const backend = await cluster.startBackend(0, 20);
    const worker = await cluster.startWorker(orchestrator, { id: "drain-me", runtime: "openai", concurrency: 4, backendUrl: backend.url });
    // A new connection may hold 2 jobs; each completion earns one more slot, up to its 4.
    for (let i = 0; i < 2; i++) expect((await cluster.dispatch(orchestrator, ask(1))).status).toBe(200);
    const before = cluster.ledger();
    // Streamed, so each job is known to be running on the worker (its first token came) before the signal.
    let running = 0;
    const jobs = Array.from({ length: 4 }, () =>
      cluster.dispatch(orchestrator, ask(25, true)).then((res) => {
        expect(res.status).toBe(200);
        return readEvents(res, () => running++);
      }),
    );
    await waitFor("four jobs streaming", () => running === 4, 10_000);
    worker.proc.kill("SIGTERM");
    const answers = await Promise.all(jobs);
    expect(answers.map((answer) => [answer.content.length, answer.errors.length, answer.done])).toEqual(Array(4).fill([100, 0, true]));
    expect(await worker.exited).toBe(0);
    const after = cluster.ledger();
    expect(after.completed - before.completed).toBe(4);
    expect(after.lines - before.lines).toBe(4);
    expect((await workerState("drain-me")).online).toBe(false);
    await cluster.group.stop(backend.child);
  });
});
