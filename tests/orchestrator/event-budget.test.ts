/** The per-connection event budget against a real worker: throttling never strands a client. */
import { afterEach, describe, expect, test } from "bun:test";
import { io } from "socket.io-client";
import { resolveWorkerToken } from "../../lib/core/token.ts";
import { readWorkerConfig } from "../../lib/core/worker-config.ts";
import { type Orchestrator, startOrchestrator } from "../../lib/orchestrator/server.ts";
import { EchoRuntime } from "../../lib/worker/runtimes/echo.ts";
import { Worker } from "../../lib/worker/worker.ts";
import { dispatch, quietLog, WALLET, waitUntil } from "../helpers/harness.ts";

let orchestrator: Orchestrator | undefined;
let worker: Worker | undefined;
afterEach(async () => {
  await worker?.drain();
  await orchestrator?.close();
});

describe("the event budget", () => {
  test("a throttled connection still gets its job:started and job:done through: every client is answered", async () => {
    // A budget far below what even one job needs: everything past the first event is throttled.
    orchestrator = await startOrchestrator({
      host: "127.0.0.1",
      port: 0,
      log: quietLog,
      policy: {},
      jobTimeoutMs: 60_000,
      eventLimits: { baseRatePerS: 0.001, perJobRatePerS: 0, burstS: 1, maxDropped: 1_000, windowMs: 5_000 },
    });
    const config = readWorkerConfig({ BASIS_WORKER_WALLET: WALLET, BASIS_WORKER_ID: "budget", BASIS_ORCHESTRATOR_URL: orchestrator.url.replace("http", "ws") }, "h");
    const { token } = await resolveWorkerToken({ wallet: config.wallet, token: config.token, authKey: config.authKey });
    worker = new Worker({ config, runtime: new EchoRuntime(), token, log: quietLog, connect: (url, opts) => io(url, opts), version: "test" });
    void worker.start().catch(() => {});
    await waitUntil("worker online", () => orchestrator?.registry.get("budget") !== undefined);
    for (let i = 0; i < 3; i++) {
      const res = await dispatch(orchestrator, { model: "basis-default", messages: [{ role: "user", content: "hi" }], max_tokens: 4 });
      expect(res.status).toBe(200);
    }
  });
});
