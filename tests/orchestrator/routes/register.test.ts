import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { Orchestrator } from "../../../lib/orchestrator/server.ts";
import { WALLET, waitUntil } from "../../helpers/harness.ts";
import { CHECKSUMMED, call, connectWorker, OTHER_WALLET, register, registration, startApi } from "../_helpers.ts";

const KEY_64 = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
const KEY_0X64 = `0x${KEY_64}`;
const PHRASE_12 = "abandon ability able about above absent absorb abstract absurd abuse access accident";
const PHRASE_24 = `${PHRASE_12} ${PHRASE_12}`;

let api: Orchestrator;
beforeEach(async () => {
  api = await startApi();
});
afterEach(async () => {
  await api.close();
});

describe("registerRoute", () => {
  test("registers a new worker with 201 and created true", async () => {
    const answer = await register(api, registration("gpu-1", WALLET, { runtime: "ollama", models: ["llama3.2", "basis-small"] }));
    expect(answer.status).toBe(201);
    expect(answer.body.created).toBe(true);
    expect(answer.body.worker).toMatchObject({
      worker_id: "gpu-1",
      worker_wallet: WALLET,
      runtime: "ollama",
      models: ["llama3.2", "basis-small"],
      online: false,
      lastSeenAt: null,
      jobsCompleted: 0,
      available: false,
      activeJobs: 0,
      capacity: 0,
    });
    expect(Date.parse(answer.body.worker.registeredAt)).not.toBeNaN();
  });

  test("the same id and wallet again answers 200, created false, and updates runtime and models", async () => {
    await register(api, registration("gpu-1", WALLET));
    const again = await register(api, registration("gpu-1", WALLET.toUpperCase().replace("0X", "0x"), { runtime: "vllm", models: ["qwen"] }));
    expect(again.status).toBe(200);
    expect(again.body.created).toBe(false);
    expect(again.body.worker).toMatchObject({ runtime: "vllm", models: ["qwen"], worker_wallet: WALLET });
  });

  test("accepts a correctly checksummed mixed-case wallet", async () => {
    const answer = await register(api, registration("gpu-2", CHECKSUMMED));
    expect(answer.status).toBe(201);
  });

  test("an id bound to another wallet is refused with 409 worker_id_taken", async () => {
    await register(api, registration("gpu-1", WALLET));
    const answer = await register(api, registration("gpu-1", OTHER_WALLET));
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ error: "worker_id_taken", field: "worker_id" });
    expect((await api.store.getWorker("gpu-1"))?.worker_wallet).toBe(WALLET);
  });

  test("a worker id registered over HTTP cannot connect over the socket with another wallet", async () => {
    await register(api, registration("gpu-1", WALLET));
    const { socket, refused } = await connectWorker(api, "gpu-1", OTHER_WALLET);
    socket.close();
    expect(refused).toBe("worker_id_bound_to_other_wallet");
    expect(api.registry.get("gpu-1")).toBeUndefined();
  });

  test("a worker id first bound over the socket cannot be registered over HTTP with another wallet", async () => {
    const { socket, refused } = await connectWorker(api, "gpu-9", WALLET);
    expect(refused).toBeUndefined();
    await waitUntil("the session", () => api.registry.get("gpu-9") !== undefined);
    const answer = await register(api, registration("gpu-9", OTHER_WALLET));
    socket.close();
    expect(answer.status).toBe(409);
    expect(answer.body.error).toBe("worker_id_taken");
  });

  const good = registration("gpu-1", WALLET);
  const BAD: Array<[string, unknown, number, string, string | undefined]> = [
    ["a wallet that is not hex", { ...good, worker_wallet: "0xZZZZ400098527886e0f7030069857d2e4169ee7" }, 400, "invalid_wallet", "worker_wallet"],
    ["a wallet one digit short", { ...good, worker_wallet: WALLET.slice(0, -1) }, 400, "invalid_wallet", "worker_wallet"],
    ["a wallet without 0x", { ...good, worker_wallet: WALLET.slice(2) }, 400, "invalid_wallet", "worker_wallet"],
    ["a mixed-case wallet with a bad checksum", { ...good, worker_wallet: CHECKSUMMED.replace("aAeb", "AaEB") }, 400, "invalid_wallet", "worker_wallet"],
    ["an empty wallet", { ...good, worker_wallet: "" }, 400, "invalid_wallet", "worker_wallet"],
    ["a missing wallet", { worker_id: "gpu-1", runtime: "echo", models: ["m"] }, 400, "invalid_wallet", "worker_wallet"],
    ["a numeric wallet", { ...good, worker_wallet: 42 }, 400, "invalid_wallet", "worker_wallet"],
    ["a 64-hex key as the wallet", { ...good, worker_wallet: KEY_64 }, 400, "secret_refused", "worker_wallet"],
    ["a 0x+64-hex key as the wallet", { ...good, worker_wallet: KEY_0X64 }, 400, "secret_refused", "worker_wallet"],
    ["a 12-word phrase as the wallet", { ...good, worker_wallet: PHRASE_12 }, 400, "secret_refused", "worker_wallet"],
    ["a 24-word phrase as the wallet", { ...good, worker_wallet: PHRASE_24 }, 400, "secret_refused", "worker_wallet"],
    ["a key as a model name", { ...good, models: ["llama", KEY_0X64] }, 400, "secret_refused", "models[1]"],
    ["a key as the worker id", { ...good, worker_id: KEY_64 }, 400, "secret_refused", "worker_id"],
    ["an empty worker id", { ...good, worker_id: "" }, 400, "invalid_request", "worker_id"],
    ["a worker id with spaces", { ...good, worker_id: "my gpu" }, 400, "invalid_request", "worker_id"],
    ["an over-long worker id", { ...good, worker_id: "w".repeat(64) }, 400, "invalid_request", "worker_id"],
    ["a worker id starting with a dash", { ...good, worker_id: "-gpu" }, 400, "invalid_request", "worker_id"],
    ["a worker id naming an API path", { ...good, worker_id: "market" }, 400, "invalid_request", "worker_id"],
    ["a missing worker id", { worker_wallet: WALLET, runtime: "echo", models: ["m"] }, 400, "invalid_request", "worker_id"],
    ["an unknown runtime", { ...good, runtime: "tensorrt" }, 400, "invalid_request", "runtime"],
    ["a missing runtime", { worker_id: "gpu-1", worker_wallet: WALLET, models: ["m"] }, 400, "invalid_request", "runtime"],
    ["no models", { ...good, models: [] }, 400, "invalid_request", "models"],
    ["models as a string", { ...good, models: "llama" }, 400, "invalid_request", "models"],
    ["an empty model name", { ...good, models: [""] }, 400, "invalid_request", "models[0]"],
    ["a model name with a space", { ...good, models: ["llama 3"] }, 400, "invalid_request", "models[0]"],
    ["a model name that is not a string", { ...good, models: [7] }, 400, "invalid_request", "models[0]"],
    ["65 models", { ...good, models: Array.from({ length: 65 }, (_, i) => `m${i}`) }, 400, "invalid_request", "models"],
    ["an unknown field", { ...good, token: "x" }, 400, "invalid_request", "token"],
    ["an array body", [good], 400, "invalid_request", undefined],
    ["a JSON null body", null, 400, "invalid_request", undefined],
    ["a body that is not JSON", "{worker_id:", 400, "invalid_json", undefined],
  ];

  test.each(BAD)("refuses %s", async (_name, body, status, code, field) => {
    const answer = await call(api, "POST", "/api/workers/register", typeof body === "string" ? body : JSON.stringify(body));
    expect(answer.status).toBe(status);
    expect(answer.body.error).toBe(code);
    expect(answer.body.field).toBe(field);
    expect(typeof answer.body.message).toBe("string");
    for (const secret of [KEY_64, PHRASE_12, "abandon ability"]) expect(answer.text).not.toContain(secret);
    expect(await api.store.listWorkers()).toEqual([]);
  });

  test("answers another method on the path with 405", async () => {
    const answer = await call(api, "PUT", "/api/workers/register", good);
    expect(answer.status).toBe(405);
    expect(answer.body.error).toBe("method_not_allowed");
  });
});
