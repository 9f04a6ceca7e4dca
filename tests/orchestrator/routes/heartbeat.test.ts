import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { Orchestrator } from "../../../lib/orchestrator/server.ts";
import { WALLET } from "../../helpers/harness.ts";
import { call, OTHER_WALLET, register, registration, startApi } from "../_helpers.ts";

const WINDOW_MS = 90_000;
let clock = Date.parse("2030-01-01T00:00:00Z");
let api: Orchestrator;

beforeEach(async () => {
  clock = Date.parse("2030-01-01T00:00:00Z");
  api = await startApi({ now: () => clock, heartbeatWindowMs: WINDOW_MS });
  await register(api, registration("gpu-1", WALLET));
});
afterEach(async () => {
  await api.close();
});

const beat = (body: unknown) => call(api, "POST", "/api/workers/heartbeat", body);
const worker = async () => (await call(api, "GET", "/api/workers/gpu-1")).body.worker;

describe("heartbeatRoute", () => {
  test("answers ok with the worker id and the time it was seen", async () => {
    const answer = await beat({ worker_id: "gpu-1" });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ ok: true, worker_id: "gpu-1", lastSeenAt: new Date(clock).toISOString() });
  });

  test("accepts the registered wallet in any letter case", async () => {
    const answer = await beat({ worker_id: "gpu-1", worker_wallet: WALLET.toUpperCase().replace("0X", "0x") });
    expect(answer.status).toBe(200);
  });

  test("keeps a worker online for the window, then it reads offline", async () => {
    expect((await worker()).online).toBe(false);
    await beat({ worker_id: "gpu-1" });
    const beatAt = clock;
    clock += WINDOW_MS;
    expect(await worker()).toMatchObject({ online: true, lastSeenAt: new Date(beatAt).toISOString(), available: false });
    clock += 1;
    expect(await worker()).toMatchObject({ online: false, lastSeenAt: new Date(beatAt).toISOString() });
  });

  test("answers 404 worker_not_found for an unregistered id", async () => {
    const answer = await beat({ worker_id: "nobody" });
    expect(answer.status).toBe(404);
    expect(answer.body.error).toBe("worker_not_found");
  });

  test("answers 409 wallet_mismatch when the wallet given is not the registered one", async () => {
    const answer = await beat({ worker_id: "gpu-1", worker_wallet: OTHER_WALLET });
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ error: "wallet_mismatch", field: "worker_wallet" });
    expect((await worker()).online).toBe(false);
  });

  const BAD: Array<[string, unknown, string, string | undefined]> = [
    ["an empty body", {}, "invalid_request", "worker_id"],
    ["a worker id with spaces", { worker_id: "a b" }, "invalid_request", "worker_id"],
    ["a numeric worker id", { worker_id: 5 }, "invalid_request", "worker_id"],
    ["a malformed wallet", { worker_id: "gpu-1", worker_wallet: "0x123" }, "invalid_wallet", "worker_wallet"],
    ["a key as the wallet", { worker_id: "gpu-1", worker_wallet: `0x${"ab".repeat(32)}` }, "secret_refused", "worker_wallet"],
    ["an unknown field", { worker_id: "gpu-1", uptime: 3 }, "invalid_request", "uptime"],
    ["a string body", "\"gpu-1\"", "invalid_request", undefined],
  ];

  test.each(BAD)("refuses %s with 400", async (_name, body, code, field) => {
    const answer = await beat(typeof body === "string" ? body : JSON.stringify(body));
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe(code);
    expect(answer.body.field).toBe(field);
    expect(answer.text).not.toContain("ab".repeat(32));
    expect((await api.store.getWorker("gpu-1"))?.last_heartbeat_at).toBeNull();
  });
});
