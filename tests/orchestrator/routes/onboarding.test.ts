import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Orchestrator } from "../../../lib/orchestrator/server.ts";
import { WALLET, waitUntil } from "../../helpers/harness.ts";
import { call, connectWorker, register, registration, startApi } from "../_helpers.ts";

const ROWS = ["Inference runtime", "Registration", "Job routing", "Orchestrator", "Can receive jobs", "Settlement"];
const EARNINGS = /earn now|passive income|yield|apy|guaranteed|risk-free/i;
let api: Orchestrator | undefined;
const cleanups: (() => void)[] = [];

afterEach(async () => {
  await api?.close();
  api = undefined;
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const status = async (query = "") => call(api!, "GET", `/api/workers/onboarding/status${query}`);

describe("onboardingRoute", () => {
  test("with no worker online: live, in-memory registration, routing local, cannot receive jobs, settlement gated", async () => {
    api = await startApi();
    const answer = await status();
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      registration: { state: "live", durable: false },
      jobRouting: { enabled: true, scope: "this orchestrator" },
      orchestrator: { url: api.url, workersOnline: 0, devMode: true },
      canReceiveJobs: false,
      settlement: { state: "gated", mode: "dry_run" },
    });
    expect(answer.body.rows.map((row: { name: string }) => row.name)).toEqual(ROWS);
    expect(answer.body.rows.find((row: { name: string }) => row.name === "Settlement").state).toBe("gated");
    expect(answer.text).not.toMatch(EARNINGS);
  });

  test("says the registration is durable when the store is on disk", async () => {
    const dir = mkdtempSync(join(tmpdir(), "basis-onboarding-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    api = await startApi({ dataDir: dir });
    expect((await status()).body.registration).toEqual({ state: "live", durable: true });
  });

  test("can receive jobs once a worker is connected, for the network and for that worker", async () => {
    api = await startApi();
    const { socket } = await connectWorker(api, "gpu-1", WALLET);
    await waitUntil("the session", () => api!.registry.get("gpu-1") !== undefined);
    const all = await status();
    expect(all.body).toMatchObject({ canReceiveJobs: true, orchestrator: { workersOnline: 1 } });
    const one = await status("?worker_id=gpu-1");
    expect(one.body).toMatchObject({ canReceiveJobs: true, worker: { worker_id: "gpu-1", registered: true, online: true, available: true } });
    expect(one.body.rows[0]).toMatchObject({ name: "Inference runtime", state: "ready" });
    socket.close();
  });

  test("a worker that only heartbeats over HTTP is online but cannot receive jobs", async () => {
    api = await startApi();
    await register(api, registration("gpu-1", WALLET));
    await call(api, "POST", "/api/workers/heartbeat", { worker_id: "gpu-1" });
    const answer = await status("?worker_id=gpu-1");
    expect(answer.body).toMatchObject({ canReceiveJobs: false, orchestrator: { workersOnline: 1 }, worker: { online: true, available: false } });
  });

  test("an unregistered worker id reads not registered", async () => {
    api = await startApi();
    const answer = await status("?worker_id=nobody");
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ canReceiveJobs: false, worker: { registered: false, online: false } });
    expect(answer.body.rows[1]).toMatchObject({ name: "Registration", state: "not_registered" });
  });

  test("refuses a malformed worker_id with 400", async () => {
    api = await startApi();
    const answer = await status("?worker_id=a%20b");
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: "invalid_worker_id", field: "worker_id" });
  });
});
