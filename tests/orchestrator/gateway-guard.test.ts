/**
 * The one guard around every worker event: a handler that throws fails the job it names (502,
 * not payable), penalises the worker and keeps the orchestrator serving.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { EVENTS, type JobAssign } from "../../lib/core/protocol.ts";
import type { Orchestrator } from "../../lib/orchestrator/server.ts";
import type { JobSink } from "../../lib/orchestrator/sessions.ts";
import { dispatch, startTestOrchestrator, startTestWorker, WALLET, waitUntil } from "../helpers/harness.ts";
import { connectWorker } from "./_helpers.ts";

let orchestrator: Orchestrator | undefined;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await orchestrator?.close();
});

describe("the worker-event guard", () => {
  test("a handler that throws fails that job with 502, penalises the worker, and the orchestrator keeps serving", async () => {
    orchestrator = await startTestOrchestrator();
    const { socket, refused } = await connectWorker(orchestrator, "faulty", WALLET);
    expect(refused).toBeUndefined();
    stops.push(async () => void socket.disconnect());
    const session = orchestrator.registry.get("faulty")!;
    // Every sink this session gets throws on its first chunk, as a bug in a handler would.
    const set = session.jobs.set.bind(session.jobs);
    session.jobs.set = (id: string, sink: JobSink) =>
      set(id, {
        ...sink,
        onChunk() {
          throw new Error("a handler bug");
        },
      });
    socket.on(EVENTS.assign, (job: JobAssign, ack: (answer: unknown) => void) => {
      ack({ accepted: true });
      socket.emit(EVENTS.chunk, { job_id: job.job_id, delta: "hello" });
    });
    const res = await dispatch(orchestrator, { model: "basis-default", messages: [{ role: "user", content: "hi" }] });
    expect(res.status).toBe(502);
    expect(JSON.stringify(await res.json())).toContain("internal_error");
    expect(session.capacity).toBe(1);
    expect(session.setbacks).toBe(1);

    // A store that fails (not the worker's fault) is logged: no setback, no crash, the session lives on,
    // and a new connection still starts.
    orchestrator.store.touchWorker = () => {
      throw new Error("disk full");
    };
    socket.emit(EVENTS.status, { available: false, draining: false, active: 0 });
    await waitUntil("the status applied", () => session.available === false);
    expect(session.setbacks).toBe(1);
    expect(socket.connected).toBe(true);

    // Honest work goes on beside it.
    const honest = await startTestWorker(orchestrator, { BASIS_WORKER_ID: "honest" });
    stops.push(honest.stop);
    await waitUntil("honest online", () => orchestrator!.registry.get("honest") !== undefined);
    expect((await dispatch(orchestrator, { model: "basis-default", messages: [{ role: "user", content: "hi" }] })).status).toBe(200);
  });
});
