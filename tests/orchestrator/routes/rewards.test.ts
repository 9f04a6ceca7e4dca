import { afterEach, describe, expect, test } from "bun:test";
import type { Orchestrator } from "../../../lib/orchestrator/server.ts";
import { dispatch, ScriptedRuntime, startTestWorker, WALLET, waitUntil } from "../../helpers/harness.ts";
import { call, register, registration, startApi } from "../_helpers.ts";

const AUTH_KEY = "test-only-auth-key-not-a-secret";
const messages = [{ role: "user", content: "hello" }];
let api: Orchestrator | undefined;
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await api?.close();
  api = undefined;
});

/** A real worker process-in-test, speaking the real protocol, with a scripted backend. */
async function workerOnline(orchestrator: Orchestrator, env: Record<string, string>, runtime?: ScriptedRuntime): Promise<void> {
  const handle = await startTestWorker(orchestrator, { BASIS_WORKER_MODELS: "basis-default", ...env }, runtime);
  stops.push(handle.stop);
  await waitUntil("worker online", () => orchestrator.registry.get("test-worker") !== undefined);
}

const rewards = async (query = "") => call(api!, "GET", `/api/workers/test-worker/rewards${query}`);

describe("rewardsRoute", () => {
  test("a registered worker with no jobs has an empty ledger, zero totals and gated settlement", async () => {
    api = await startApi();
    await register(api, registration("test-worker", WALLET));
    const answer = await rewards();
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      worker_id: "test-worker",
      worker_wallet: WALLET,
      currency: "BASIS",
      decimals: 18,
      pending: "0",
      batching: "0",
      settled: "0",
      entries: [],
      settlement: { state: "gated", mode: "dry_run" },
    });
    expect(answer.body.settlement.message).toContain("gated");
  });

  test("a verified job on a configured orchestrator accrues the worker share at the default ask", async () => {
    api = await startApi({ policy: { authKey: AUTH_KEY } });
    const env = { BASIS_WORKER_AUTH_KEY: AUTH_KEY, BASIS_WORKER_RUNTIME: "ollama", BASIS_OLLAMA_MODEL: "basis-default" };
    await workerOnline(api, env, new ScriptedRuntime("answer"));
    const res = await dispatch(api, { model: "basis-default", messages });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-basis-payable")).toBe("true");
    const answer = await rewards();
    // 3 prompt + 2 output tokens: floor((3 * 460000000 + 2 * 1840000000) / 1e6) = 5060; 90% = 4554.
    expect(answer.body.pending).toBe("4554");
    expect(answer.body.entries).toHaveLength(1);
    expect(answer.body.entries[0]).toMatchObject({
      job_id: res.headers.get("x-basis-job-id"),
      model: "basis-default",
      status: "completed",
      state: "pending",
      payable: true,
      charged_raw: "5060",
      reward_raw: "4554",
      reason: null,
    });
    expect(typeof answer.body.entries[0].reward_raw).toBe("string");
  });

  test("a completed job that is not payable (echo, dev mode) is listed with reward 0 and its reasons", async () => {
    api = await startApi();
    await workerOnline(api, {});
    expect((await dispatch(api, { model: "basis-default", messages })).status).toBe(200);
    const answer = await rewards();
    expect(answer.body.pending).toBe("0");
    expect(answer.body.entries[0]).toMatchObject({ status: "completed", state: "not_payable", payable: false, reward_raw: "0" });
    expect(answer.body.entries[0].reason).toBe("simulator,dev_mode");
  });

  test("a failed job is listed with reward 0", async () => {
    api = await startApi({ policy: { authKey: AUTH_KEY } });
    const env = { BASIS_WORKER_AUTH_KEY: AUTH_KEY, BASIS_WORKER_RUNTIME: "ollama", BASIS_OLLAMA_MODEL: "basis-default" };
    await workerOnline(api, env, new ScriptedRuntime("fail"));
    expect((await dispatch(api, { model: "basis-default", messages })).status).toBe(502);
    const answer = await rewards();
    expect(answer.body.pending).toBe("0");
    expect(answer.body.entries[0]).toMatchObject({ status: "failed", state: "not_payable", charged_raw: "0", reward_raw: "0", reason: "worker_failed" });
  });

  test("limit bounds the entries listed, not the totals", async () => {
    api = await startApi({ policy: { authKey: AUTH_KEY } });
    const env = { BASIS_WORKER_AUTH_KEY: AUTH_KEY, BASIS_WORKER_RUNTIME: "ollama", BASIS_OLLAMA_MODEL: "basis-default" };
    await workerOnline(api, env, new ScriptedRuntime("answer"));
    for (let i = 0; i < 3; i++) expect((await dispatch(api, { model: "basis-default", messages })).status).toBe(200);
    const answer = await rewards("?limit=2");
    expect(answer.body.entries).toHaveLength(2);
    expect(answer.body.entriesTotal).toBe(3);
    expect(answer.body.pending).toBe(String(3n * 4554n));
  });

  test.each([["?limit=0"], ["?limit=501"], ["?limit=two"], ["?limit=-1"]])("refuses %s with 400", async (query) => {
    api = await startApi();
    await register(api, registration("test-worker", WALLET));
    const answer = await rewards(query);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: "invalid_request", field: "limit" });
  });

  test("answers 404 for an unknown worker", async () => {
    api = await startApi();
    const answer = await rewards();
    expect(answer.status).toBe(404);
    expect(answer.body.error).toBe("worker_not_found");
  });
});
