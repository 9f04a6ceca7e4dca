/**
 * The HTTP API contract (lib/core/api-contract.ts) holds on both sides: every route's real
 * answer fits the schema the route promises and the reading the client uses, every error body
 * fits the error schema, and an answer that breaks the contract is refused by the client.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import * as v from "valibot";
import {
  API_PATHS,
  ApiErrorSchema,
  ChatCompletionChunkSchema,
  ChatCompletionSchema,
  HealthSchema,
  HeartbeatAnswerSchema,
  MarketSchema,
  ModelListSchema,
  ModelSchema,
  OpenAIErrorSchema,
  ReceiptAnswerSchema,
  receiptPath,
  OfferAcceptedReadSchema,
  OfferAcceptedSchema,
  OnboardingReadSchema,
  OnboardingSchema,
  RegistrationReadSchema,
  RegistrationSchema,
  RewardsReadSchema,
  RewardsSchema,
  VerificationSchema,
  WorkerAnswerReadSchema,
  WorkerAnswerSchema,
  workerPath,
} from "../../../lib/core/api-contract.ts";
import { BasisError } from "../../../lib/core/errors.ts";
import { buildManifest } from "../../../lib/core/manifest.ts";
import { signManifest } from "../../../lib/core/manifest-signature.ts";
import { createSseDecoder } from "../../../lib/core/sse.ts";
import { createBasisApi } from "../../../lib/io/basis-api.ts";
import { type Orchestrator, startOrchestrator } from "../../../lib/orchestrator/server.ts";
import { quietLog, startTestWorker, waitUntil, WALLET } from "../../helpers/harness.ts";
import { DEFAULT_MODEL_OFFER, throwawayKey } from "../../helpers/prices.ts";

const SECRET = `internal-${crypto.randomUUID()}`;
const PRICED = throwawayKey("basis-worker contract test key");
const messages = [{ role: "user", content: "hello contract" }];

let api: Orchestrator;
let stopWorker: () => Promise<void>;

beforeAll(async () => {
  api = await startOrchestrator({ host: "127.0.0.1", port: 0, log: quietLog, policy: {}, internalApiSecret: SECRET });
  const handle = await startTestWorker(api);
  stopWorker = handle.stop;
  await waitUntil("worker online", () => api.registry.get("test-worker") !== undefined);
});

afterAll(async () => {
  await stopWorker();
  await api.close();
});

async function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown; headers: Headers; text: string }> {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, headers: res.headers, text };
}

/** Passes when the value fits; fails naming the first field that does not. */
function expectFits(schema: v.GenericSchema, value: unknown): void {
  const result = v.safeParse(schema, value);
  const problems = result.success ? [] : result.issues.map((issue) => `${v.getDotPath(issue) ?? "(root)"}: ${issue.message}`);
  expect(problems).toEqual([]);
}

describe("every route answers in the contract's shape", () => {
  test("health, register, heartbeat, worker", async () => {
    expectFits(HealthSchema, (await send("GET", API_PATHS.healthz)).body);
    const first = await send("POST", API_PATHS.register, { worker_id: "contract-1", worker_wallet: WALLET, runtime: "ollama", models: ["a", "a", "b"] });
    expect(first.status).toBe(201);
    expectFits(RegistrationSchema, first.body);
    expectFits(RegistrationReadSchema, first.body);
    const again = await send("POST", API_PATHS.register, { worker_id: "contract-1", worker_wallet: WALLET, runtime: "ollama", models: ["a"] });
    expect(again.status).toBe(200);
    expectFits(RegistrationSchema, again.body);
    const beat = await send("POST", API_PATHS.heartbeat, { worker_id: "contract-1" });
    expectFits(HeartbeatAnswerSchema, beat.body);
    for (const id of ["contract-1", "test-worker"]) {
      const worker = await send("GET", workerPath(API_PATHS.worker, id));
      expect(worker.status).toBe(200);
      expectFits(WorkerAnswerSchema, worker.body);
      expectFits(WorkerAnswerReadSchema, worker.body);
    }
  });

  test("dispatch, whole and streamed, then the rewards ledger it wrote", async () => {
    const whole = await send("POST", API_PATHS.dispatch, { model: "basis-default", messages, max_tokens: 5 });
    expect(whole.status).toBe(200);
    expectFits(ChatCompletionSchema, whole.body);
    const models = await send("GET", API_PATHS.models);
    expect((models.body as { data: { id: string }[] }).data.map((m) => m.id)).toContain("basis-default");
    expectFits(ModelListSchema, models.body);
    expectFits(ModelSchema, (await send("GET", API_PATHS.model.replace(":id", "basis-default"))).body);
    const receipt = await send("GET", receiptPath(whole.headers.get("x-basis-receipt") ?? ""));
    expect(receipt.status).toBe(200);
    expectFits(ReceiptAnswerSchema, receipt.body);
    const viaOpenAiPath = await send("POST", API_PATHS.chatCompletions, { model: "basis-default", messages, max_tokens: 5 });
    expectFits(ChatCompletionSchema, viaOpenAiPath.body);
    const streamed = await send("POST", API_PATHS.dispatch, { model: "basis-default", messages, max_tokens: 5, stream: true, stream_options: { include_usage: true } });
    const decoder = createSseDecoder();
    const events = [...decoder.push(streamed.text), ...decoder.flush()].map((event) => event.data);
    expect(events.pop()).toBe("[DONE]");
    expect(events.length).toBeGreaterThan(2);
    for (const data of events) expectFits(ChatCompletionChunkSchema, JSON.parse(data));
    const rewards = await send("GET", `${workerPath(API_PATHS.rewards, "test-worker")}?limit=2`);
    expect((rewards.body as { entries: unknown[] }).entries).toHaveLength(2);
    expectFits(RewardsSchema, rewards.body);
    expectFits(RewardsReadSchema, rewards.body);
  });

  test("onboarding, with and without a worker", async () => {
    for (const query of ["", "?worker_id=test-worker", "?worker_id=contract-1", "?worker_id=nobody"]) {
      const answer = await send("GET", `${API_PATHS.onboarding}${query}`);
      expect(answer.status).toBe(200);
      expectFits(OnboardingSchema, answer.body);
      expectFits(OnboardingReadSchema, answer.body);
    }
  });

  test("prices, the market and the verification job", async () => {
    expect((await send("POST", API_PATHS.register, { worker_id: "priced-1", worker_wallet: PRICED.wallet, runtime: "ollama", models: ["basis-default"] })).status).toBe(201);
    const unsigned = buildManifest({
      prices: { hardware: { gpu: "RTX 4090", vram_gib: 24 }, models: [{ ...DEFAULT_MODEL_OFFER, output_credits_per_1m: "8000000000" }] },
      workerId: "priced-1",
      workerWallet: PRICED.wallet,
      now: new Date(),
    });
    const { manifest } = await signManifest(unsigned, PRICED.key);
    const accepted = await send("POST", API_PATHS.prices, manifest);
    expect(accepted.status).toBe(201);
    expectFits(OfferAcceptedSchema, accepted.body);
    expectFits(OfferAcceptedReadSchema, accepted.body);
    expect((accepted.body as { flags: unknown[] }).flags).toHaveLength(1);
    const market = await send("GET", API_PATHS.market);
    expect((market.body as { offers: unknown[] }).offers).toHaveLength(1);
    expectFits(MarketSchema, market.body);
    const verification = await send("POST", workerPath(API_PATHS.verification, "test-worker"), undefined, { authorization: `Bearer ${SECRET}` });
    expect(verification.status).toBe(200);
    expectFits(VerificationSchema, verification.body);
  });

  test("every refusal is the contract's error body", async () => {
    const refusals: [number, Promise<{ status: number; body: unknown }>][] = [
      [400, send("POST", API_PATHS.register, "{nope")],
      [400, send("POST", API_PATHS.register, { worker_id: "x", worker_wallet: "0x12", runtime: "echo", models: ["m"] })],
      [400, send("GET", `${workerPath(API_PATHS.rewards, "test-worker")}?limit=0`)],
      [401, send("POST", workerPath(API_PATHS.verification, "test-worker"), undefined, { authorization: "Bearer wrong" })],
      [404, send("GET", workerPath(API_PATHS.worker, "nobody"))],
      [404, send("GET", "/no/such/path")],
      [405, send("DELETE", API_PATHS.market)],
      [409, send("POST", API_PATHS.register, { worker_id: "contract-1", worker_wallet: PRICED.wallet, runtime: "echo", models: ["m"] })],
      [413, send("POST", API_PATHS.register, "x".repeat((1 << 20) + 1))],
    ];
    for (const [status, pending] of refusals) {
      const answer = await pending;
      expect(answer.status).toBe(status);
      expectFits(ApiErrorSchema, answer.body);
    }
    // Under /v1, OpenAI's shape, which the official SDKs read.
    const openAI: [number, Promise<{ status: number; body: unknown }>][] = [
      [400, send("POST", API_PATHS.dispatch, "{nope")],
      [400, send("POST", API_PATHS.chatCompletions, { model: "m", messages, temperature: 9 })],
      [405, send("GET", API_PATHS.dispatch)],
      [404, send("POST", API_PATHS.dispatch, { model: "no-such-model", messages })],
    ];
    for (const [status, pending] of openAI) {
      const answer = await pending;
      expect(answer.status).toBe(status);
      expectFits(OpenAIErrorSchema, answer.body);
    }
  });
});

describe("the client and the routes share the contract", () => {
  /** Serves one recorded answer, optionally changed, the way the real route sent it. */
  async function replay(status: number, body: unknown): Promise<{ url: string; close: () => void }> {
    const server = createServer((_req, res) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
  }

  test("the client reads a real route's answer, and refuses it once a field breaks the contract", async () => {
    const real = (await send("GET", workerPath(API_PATHS.worker, "test-worker"))).body as { worker: Record<string, unknown> };
    const good = await replay(200, real);
    const worker = await createBasisApi({ base: good.url, tries: 1 }).getWorker("test-worker");
    good.close();
    expect(worker.online).toBe(true);
    expect(worker.worker_wallet).toBe(WALLET);

    const broken = { worker: { ...real.worker, online: "yes" } };
    // The route's promise refuses it...
    expect(v.safeParse(WorkerAnswerSchema, broken).success).toBe(false);
    // ...and so does the client, with the field named.
    const served = await replay(200, broken);
    const error = await createBasisApi({ base: served.url, tries: 1 })
      .getWorker("test-worker")
      .then(() => undefined, (caught: unknown) => caught);
    served.close();
    expect(error).toBeInstanceOf(BasisError);
    expect((error as BasisError).code).toBe("api_bad_response");
    expect((error as BasisError).message).toContain("worker.online");
  });

  test("an amount the route sends as a float breaks both sides", async () => {
    const real = (await send("GET", workerPath(API_PATHS.rewards, "test-worker"))).body as Record<string, unknown>;
    const broken = { ...real, pending: 1.5 };
    expect(v.safeParse(RewardsSchema, broken).success).toBe(false);
    expect(v.safeParse(RewardsReadSchema, broken).success).toBe(false);
  });
});
