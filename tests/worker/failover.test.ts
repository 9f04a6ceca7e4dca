/**
 * BASIS_ORCHESTRATOR_URL listing several instances: a worker whose orchestrator goes away is
 * back online on the next one, and one it cannot reach at first is skipped for the next.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Orchestrator } from "../../lib/orchestrator/server.ts";
import { startTestOrchestrator, startTestWorker, waitUntil } from "../helpers/harness.ts";

const started: Orchestrator[] = [];
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  for (const orchestrator of started.splice(0)) await orchestrator.close().catch(() => undefined);
});

const ws = (orchestrator: Orchestrator) => orchestrator.url.replace("http", "ws");

describe("a worker given several orchestrator URLs", () => {
  test("moves to the next instance when its orchestrator stops, within 10 s", async () => {
    const a = await startTestOrchestrator();
    const b = await startTestOrchestrator();
    started.push(a, b);
    const handle = await startTestWorker(a, { BASIS_ORCHESTRATOR_URL: `${ws(a)},${ws(b)}` });
    stops.push(handle.stop);
    await waitUntil("online on A", () => a.registry.get("test-worker") !== undefined);
    const gone = Date.now();
    await a.close();
    await waitUntil("online on B", () => b.registry.get("test-worker") !== undefined, 10_000);
    expect(Date.now() - gone).toBeLessThan(10_000);
  });

  test("skips a first URL nothing answers on", async () => {
    const b = await startTestOrchestrator();
    started.push(b);
    // Port 1 on loopback: the connection is refused at once.
    const handle = await startTestWorker(b, { BASIS_ORCHESTRATOR_URL: `ws://127.0.0.1:1,${ws(b)}` });
    stops.push(handle.stop);
    await waitUntil("online on B", () => b.registry.get("test-worker") !== undefined, 10_000);
  });
});
