/**
 * A few thousand generated hostile HTTP requests, as raw bytes, against the compiled
 * orchestrator on every route: it must not crash, answer 5xx, leak a stack, a path, source or a
 * secret, hold a connection, or grow without bound.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { readRssMb } from "../../bench/processes.ts";
import { requireBinaries } from "../helpers/binaries.ts";
import { Cluster, type RunningOrchestrator, waitFor } from "./_cluster.ts";
import { hostileCorpus } from "./_hostile.ts";
import { exchange, type RawAnswer } from "../helpers/raw-http.ts";

requireBinaries();

const CORPUS_SIZE = 3_000;
const CONCURRENCY = 16;

/** Server-side TCP connections of `port` that are still established (Linux /proc). */
function establishedOn(port: number): number {
  let count = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (!local || fields[3] !== "01") continue;
      if (Number.parseInt(local.split(":")[1] ?? "", 16) === port) count++;
    }
  }
  return count;
}

let cluster: Cluster;
let orchestrator: RunningOrchestrator;
beforeAll(async () => {
  cluster = new Cluster();
  orchestrator = await cluster.startOrchestrator();
  // A worker so that the valid requests in the corpus are served, not refused for want of one.
  await cluster.startWorker(orchestrator, { id: "hostile-worker", concurrency: 16 });
});
afterAll(async () => {
  await cluster.close();
});

describe("the orchestrator under a hostile corpus", () => {
  test(`${CORPUS_SIZE.toLocaleString("en-US")} generated requests: no crash, no 5xx, no leak, no held connection, bounded memory`, async () => {
    const corpus = hostileCorpus(12, CORPUS_SIZE, cluster.secrets.dispatch);
    const baselineConnections = establishedOn(orchestrator.port);
    const pid = orchestrator.child.pid;
    const rssBefore = readRssMb(pid) ?? 0;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, readRssMb(pid) ?? 0);
    }, 25);

    const answers: { name: string; answer: RawAnswer; halfSent?: boolean; unauthenticatedKeepAlive?: boolean }[] = [];
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < corpus.length; i = next++) {
        const request = corpus[i] as (typeof corpus)[number];
        const waitForClose = request.halfSent || request.unauthenticatedKeepAlive;
        const answer = await exchange(orchestrator.port, request.bytes, { closeWaitMs: waitForClose ? 20_000 : 0, limitMs: 25_000 });
        answers.push({ name: request.name, answer, halfSent: request.halfSent, unauthenticatedKeepAlive: request.unauthenticatedKeepAlive });
      }
    };
    // The bodies that never finish go first, so their read deadlines run while the rest is sent.
    corpus.sort((a, b) => Number(Boolean(b.halfSent)) - Number(Boolean(a.halfSent)));
    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY + corpus.filter((r) => r.halfSent).length }, lane));
    const elapsedS = (performance.now() - started) / 1000;
    clearInterval(sampler);

    expect(orchestrator.child.proc.exitCode).toBeNull();
    // Connection: close, so the check leaves no pooled connection of its own behind.
    expect((await fetch(`${orchestrator.url}/healthz`, { headers: { connection: "close" } })).status).toBe(200);

    // The one 5xx allowed is the runtime's own parser refusing a request line it cannot read
    // (bare LF line ends: 505, a bodiless answer before any of our code runs).
    const fromParser = (answer: RawAnswer) => answer.status === 505 && !/content-type/i.test(answer.text);
    const serverErrors = answers.filter(({ answer }) => (answer.status ?? 0) >= 500 && !fromParser(answer)).map(({ name, answer }) => `${name}: ${answer.text.slice(0, 300)}`);
    expect(serverErrors).toEqual([]);
    const held = answers.filter(({ answer }) => answer.status === undefined && !answer.closedByServer).map(({ name }) => name);
    expect(held).toEqual([]);

    const leaks = [cluster.secrets.dispatch, cluster.secrets.authKey, cluster.secrets.internal, cluster.dir, "node_modules", "CREATE TABLE", "bun:sqlite", "    at ", "<html", "lib/orchestrator"];
    const leaked = answers.filter(({ answer }) => leaks.some((needle) => answer.text.includes(needle))).map(({ name }) => name);
    expect(leaked).toEqual([]);

    // A body that never finishes is answered and closed by the read deadline, with or without the secret.
    const halfSent = answers.filter((a) => a.halfSent);
    expect(halfSent.length).toBeGreaterThan(0);
    for (const { name, answer } of halfSent) {
      expect({ name, closed: answer.closedByServer }).toEqual({ name, closed: true });
      expect([400, 401, 404, 408, 413]).toContain(answer.status as number);
    }
    // An unauthenticated connection is closed by the server right after its answer.
    const keepAlive = answers.filter((a) => a.unauthenticatedKeepAlive);
    expect(keepAlive.length).toBe(6);
    for (const { name, answer } of keepAlive) expect({ name, closed: answer.closedByServer, status: answer.status }).toEqual({ name, closed: true, status: 401 });

    // Nothing is left open but the worker's socket.
    await waitFor("connections released", () => establishedOn(orchestrator.port) <= baselineConnections, 15_000);

    const statuses = new Map<string, number>();
    for (const { answer } of answers) {
      const key = answer.status === undefined ? "closed" : String(answer.status);
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }
    const rssAfter = readRssMb(pid) ?? 0;
    // Bounded: no request may cost the process more than a few dozen MB, however it nests.
    expect(rssPeak - rssBefore).toBeLessThan(256);
    console.log(
      `reliability: hostile corpus: ${answers.length} requests in ${elapsedS.toFixed(1)} s, answers ${JSON.stringify(Object.fromEntries([...statuses].sort()))}, ` +
        `0 5xx from the orchestrator (${answers.filter(({ answer }) => fromParser(answer)).length} bare-LF request lines refused 505 by the runtime's parser), 0 held, RSS ${rssBefore.toFixed(0)} -> peak ${rssPeak.toFixed(0)} -> ${rssAfter.toFixed(0)} MB, ` +
        `half-sent closed after ${Math.max(...halfSent.map((a) => a.answer.closedMs ?? 0)).toFixed(0)} ms at most`,
    );
  }, 120_000);
});
