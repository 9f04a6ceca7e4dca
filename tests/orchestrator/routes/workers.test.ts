import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { Orchestrator } from "../../../lib/orchestrator/server.ts";
import { WALLET, waitUntil } from "../../helpers/harness.ts";
import { call, connectWorker, register, registration, startApi } from "../_helpers.ts";

let clock = Date.parse("2030-01-01T00:00:00Z");
let api: Orchestrator;

beforeEach(async () => {
  clock = Date.parse("2030-01-01T00:00:00Z");
  api = await startApi({ now: () => clock, heartbeatWindowMs: 60_000 });
});
afterEach(async () => {
  await api.close();
});

const view = async (id: string) => (await call(api, "GET", `/api/workers/${id}`)).body.worker;

describe("getWorkerRoute", () => {
  test("serves the registered record with every documented field", async () => {
    await register(api, registration("gpu-1", WALLET, { runtime: "vllm", models: ["qwen"] }));
    const worker = await view("gpu-1");
    expect(Object.keys(worker).sort()).toEqual(
      [
        "activeJobs",
        "available",
        "capacity",
        "coolingDownUntil",
        "earnedCapacity",
        "jobsCompleted",
        "lastSeenAt",
        "models",
        "online",
        "registeredAt",
        "runtime",
        "unverified",
        "worker_id",
        "worker_wallet",
      ].sort(),
    );
    expect(worker).toMatchObject({ worker_id: "gpu-1", runtime: "vllm", models: ["qwen"], online: false, registeredAt: new Date(clock).toISOString() });
  });

  test("a connected socket reads online and seen now, whatever the heartbeat window", async () => {
    const { socket } = await connectWorker(api, "gpu-1", WALLET);
    await waitUntil("the session", () => api.registry.get("gpu-1") !== undefined);
    clock += 10 * 60_000;
    expect(await view("gpu-1")).toMatchObject({
      online: true,
      available: true,
      capacity: 1,
      earnedCapacity: 1,
      coolingDownUntil: null,
      unverified: false,
      lastSeenAt: new Date(clock).toISOString(),
    });
    socket.close();
  });

  test("a socket that disconnects reads offline at once when no HTTP heartbeat is recent", async () => {
    const { socket } = await connectWorker(api, "gpu-1", WALLET);
    await waitUntil("the session", () => api.registry.get("gpu-1") !== undefined);
    socket.close();
    await waitUntil("the disconnect", () => api.registry.get("gpu-1") === undefined);
    expect(await view("gpu-1")).toMatchObject({ online: false, available: false, lastSeenAt: new Date(clock).toISOString() });
  });

  test("a recent HTTP heartbeat keeps a worker online after its socket goes, until the window ends", async () => {
    const { socket } = await connectWorker(api, "gpu-1", WALLET);
    await waitUntil("the session", () => api.registry.get("gpu-1") !== undefined);
    await call(api, "POST", "/api/workers/heartbeat", { worker_id: "gpu-1" });
    socket.close();
    await waitUntil("the disconnect", () => api.registry.get("gpu-1") === undefined);
    expect(await view("gpu-1")).toMatchObject({ online: true, available: false });
    clock += 60_001;
    expect((await view("gpu-1")).online).toBe(false);
  });

  test("answers 404 worker_not_found for an unknown id", async () => {
    const answer = await call(api, "GET", "/api/workers/nobody");
    expect(answer.status).toBe(404);
    expect(answer.body.error).toBe("worker_not_found");
  });

  test.each([["a%20b"], ["-x"], [`${"w".repeat(64)}`]])("answers 400 invalid_worker_id for %s", async (id) => {
    const answer = await call(api, "GET", `/api/workers/${id}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe("invalid_worker_id");
  });
});
