/**
 * Crashes under load, with the compiled binaries: the orchestrator killed (-9) while clients
 * dispatch as fast as they can, restarted on the same data and port; and thousands of
 * dispatches across several workers while one is killed and restarted. Counted to the job.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { requireBinaries } from "../helpers/binaries.ts";
import { Cluster, FAKE_MODEL, waitFor } from "./_cluster.ts";

requireBinaries();

/**
 * What a client may see while a process is down or coming back: 200; 404 model_not_found (no
 * worker connected yet after a restart); 429 capacity_exhausted (the model's queue is full);
 * 502 (its job was cut); 503 (no worker free).
 */
const KILL_WINDOW_STATUSES = [200, 404, 429, 502, 503];

const ECHO_BODY = { model: "basis-default", messages: [{ role: "user", content: "ping" }], max_tokens: 8 };

interface Tally {
  /** Job ids of 200 answers: acknowledged to the client. */
  acknowledged: string[];
  byStatus: Map<number, number>;
  /** Requests that got no HTTP answer at all (connection refused or reset while the orchestrator was down). */
  noAnswer: number;
  sent: number;
}

/** `clients` closed loops; each request ends in exactly one of: a status, or no answer. */
function runLoad(cluster: Cluster, url: () => string, clients: number, until: () => boolean, body: object = ECHO_BODY): { tally: Tally; done: Promise<void> } {
  const tally: Tally = { acknowledged: [], byStatus: new Map(), noAnswer: 0, sent: 0 };
  const loop = async () => {
    while (!until()) {
      tally.sent++;
      let res: Response;
      try {
        res = await fetch(`${url()}/v1/dispatch`, {
          method: "POST",
          headers: { authorization: `Bearer ${cluster.secrets.dispatch}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        await res.arrayBuffer();
      } catch {
        tally.noAnswer++;
        await Bun.sleep(5);
        continue;
      }
      tally.byStatus.set(res.status, (tally.byStatus.get(res.status) ?? 0) + 1);
      // No worker free (one restarting): back off a little instead of spinning.
      if (res.status !== 200) await Bun.sleep(5);
      if (res.status === 200) tally.acknowledged.push(res.headers.get("x-basis-job-id") as string);
    }
  };
  return { tally, done: Promise.all(Array.from({ length: clients }, loop)).then(() => undefined) };
}

function answered(tally: Tally): number {
  return [...tally.byStatus.values()].reduce((a, b) => a + b, 0);
}

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe("the orchestrator killed with SIGKILL under load", () => {
  test("every acknowledged job survives the restarts; workers are back within 10 s, once each", async () => {
    cluster = new Cluster();
    const c = cluster;
    let orchestrator = await c.startOrchestrator();
    const port = orchestrator.port;
    const workerIds = ["load-a", "load-b", "load-c"];
    for (const id of workerIds) await c.startWorker(orchestrator, { id, concurrency: 16 });

    const KILLS = 5;
    let kills = 0;
    let stop = false;
    const load = runLoad(c, () => `http://127.0.0.1:${port}`, 24, () => stop);
    const backWithinMs: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const ackedBefore = load.tally.acknowledged.length;
      await waitFor("load flowing", () => load.tally.acknowledged.length >= ackedBefore + 300, 20_000);
      await c.kill(orchestrator.child);
      kills++;
      orchestrator = await c.startOrchestrator(port);
      backWithinMs.push(await waitFor("all workers back", async () => (await c.workersOnline(orchestrator)) === workerIds.length, 10_000));
    }
    const ackedBefore = load.tally.acknowledged.length;
    await waitFor("load flowing after the last restart", () => load.tally.acknowledged.length >= ackedBefore + 300, 20_000);
    stop = true;
    await load.done;

    const ledger = c.ledger();
    const missing = load.tally.acknowledged.filter((id) => !ledger.ids.has(id));
    expect(missing).toEqual([]);
    expect(new Set(load.tally.acknowledged).size).toBe(load.tally.acknowledged.length);
    expect(answered(load.tally) + load.tally.noAnswer).toBe(load.tally.sent);
    // Bad input is not what this test sends: every answer is a 200 or what a kill window explains.
    for (const status of load.tally.byStatus.keys()) expect(KILL_WINDOW_STATUSES).toContain(status);
    expect(ledger.lines).toBe(ledger.ids.size);
    expect(ledger.jobsCompleted).toBe(ledger.completed);
    expect(ledger.workers).toBe(workerIds.length);
    expect(await c.workersOnline(orchestrator)).toBe(workerIds.length);
    expect(kills).toBe(KILLS);
    console.log(
      `reliability: orchestrator kill -9 x${KILLS}: ${load.tally.sent} requests, ${load.tally.acknowledged.length} acknowledged, ` +
        `${missing.length} lost, ${load.tally.noAnswer} without an answer (refused or cut by a kill), statuses ${JSON.stringify(Object.fromEntries(load.tally.byStatus))}, ` +
        `workers back in ${backWithinMs.map((ms) => Math.round(ms)).join("/")} ms`,
    );
  }, 90_000);
});

describe("the orchestrator stopped with SIGTERM during jobs", () => {
  test("jobs that finish within the grace are answered 200 and kept; the rest get one failure answer each; nothing new is taken", async () => {
    cluster = new Cluster();
    const c = cluster;
    // Jobs of 40 tokens at 25 ms (about a second); a grace of 1.5 s lets those running finish.
    const backend = await c.startBackend(0, 25);
    let orchestrator = await c.startOrchestrator(0, { BASIS_SHUTDOWN_TIMEOUT_MS: "1500" });
    const worker = await c.startWorker(orchestrator, { id: "term-a", runtime: "openai", concurrency: 4, backendUrl: backend.url });
    for (let i = 0; i < 2; i++) expect((await c.dispatch(orchestrator, { model: FAKE_MODEL, messages: [{ role: "user", content: "warm" }], max_tokens: 1 })).status).toBe(200);
    const ask = (tokens: number) => c.dispatch(orchestrator, { model: FAKE_MODEL, messages: [{ role: "user", content: "ping" }], max_tokens: tokens });
    const short = [ask(40), ask(40)];
    // Longer than the grace: cut when the workers are disconnected.
    const long = [ask(400), ask(400)];
    await waitFor("four jobs running", async () => {
      const res = await fetch(`${orchestrator.url}/api/workers/term-a`);
      return ((await res.json()) as { worker: { activeJobs: number } }).worker.activeJobs === 4;
    }, 10_000);
    await Bun.sleep(50);
    // The late request goes out once the orchestrator says it is stopping, not at a guessed moment.
    const stopping = orchestrator.child.waitForLine(/stopping: new dispatches get 503/, 10_000);
    orchestrator.child.proc.kill("SIGTERM");
    expect(await stopping).toBeDefined();
    const late = await ask(4).then((res) => res.status, () => "no answer");
    const shortAnswers = await Promise.all(short);
    const longAnswers = await Promise.all(long.map((p) => p.then((res) => res.status, () => "no answer")));
    expect(await orchestrator.child.exited).toBe(0);

    expect(shortAnswers.map((res) => res.status)).toEqual([200, 200]);
    expect(longAnswers).toEqual([502, 502]);
    // Refused while draining, or not even connected once the listener closed: never served.
    expect([503, "no answer"]).toContain(late);
    const acknowledged = shortAnswers.map((res) => res.headers.get("x-basis-job-id") as string);
    orchestrator = await c.startOrchestrator(orchestrator.port);
    const ledger = c.ledger();
    for (const id of acknowledged) expect(ledger.ids.has(id)).toBe(true);
    expect(ledger.completed).toBe(4);
    expect(ledger.failed).toBe(2);
    expect(ledger.lines).toBe(6);
    await c.group.stop(worker);
  }, 60_000);
});

describe("thousands of dispatches while a worker is killed and restarted", () => {
  test("every request gets exactly one terminal answer; completed = ledger lines = jobsCompleted", async () => {
    cluster = new Cluster();
    const c = cluster;
    const orchestrator = await c.startOrchestrator();
    // Jobs of 4 tokens at 5 ms each, so the kill lands on jobs in flight.
    const backend = await c.startBackend(0, 5);
    const spec = { concurrency: 8, runtime: "openai" as const, backendUrl: backend.url };
    const workerIds = ["many-a", "many-b", "many-c"];
    const workers = [];
    for (const id of workerIds) workers.push(await c.startWorker(orchestrator, { id, ...spec }));

    const TOTAL = 3_000;
    let issued = 0;
    const body = { model: FAKE_MODEL, messages: [{ role: "user", content: "ping" }], max_tokens: 4 };
    const load = runLoad(c, () => orchestrator.url, 16, () => issued++ >= TOTAL, body);
    await waitFor("a third done", () => answered(load.tally) >= TOTAL / 3, 60_000);
    await c.kill(workers[1] as (typeof workers)[number]);
    await waitFor("two thirds done", () => answered(load.tally) >= (2 * TOTAL) / 3, 60_000);
    await c.startWorker(orchestrator, { id: "many-b", ...spec });
    await load.done;

    const ledger = c.ledger();
    const completed = load.tally.byStatus.get(200) ?? 0;
    expect(load.tally.sent).toBe(TOTAL);
    expect(load.tally.noAnswer).toBe(0);
    expect(answered(load.tally)).toBe(TOTAL);
    for (const status of load.tally.byStatus.keys()) expect(KILL_WINDOW_STATUSES).toContain(status);
    // Nothing double-counted: the 200s, the completed ledger lines and the workers' counters agree.
    expect(ledger.completed).toBe(completed);
    expect(ledger.jobsCompleted).toBe(completed);
    expect(new Set(load.tally.acknowledged).size).toBe(completed);
    expect(load.tally.acknowledged.every((id) => ledger.ids.has(id))).toBe(true);
    // Every routed job has one line: the completed ones, and a failed one for each try a kill cut
    // (a try cut before its first token moves once to another worker, so 502s are at most that).
    expect(ledger.lines).toBe(ledger.ids.size);
    expect(ledger.lines).toBe(ledger.completed + ledger.failed);
    expect(ledger.failed).toBeGreaterThanOrEqual(load.tally.byStatus.get(502) ?? 0);
    let sum = 0;
    for (const id of workerIds) {
      const res = await fetch(`${orchestrator.url}/api/workers/${id}`);
      sum += ((await res.json()) as { worker: { jobsCompleted: number } }).worker.jobsCompleted;
    }
    expect(sum).toBe(completed);
    console.log(`reliability: ${TOTAL} dispatches, 3 workers, one killed and restarted: statuses ${JSON.stringify(Object.fromEntries(load.tally.byStatus))}, ledger ${ledger.lines} lines`);
  }, 120_000);
});
