/**
 * Receipts: every finished job has one; its hash (in `x-basis-receipt` on whole answers, on the
 * last chunk of a stream) is recomputed here with an independent RFC 8785 implementation.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import OpenAI from "openai";
import type { Orchestrator } from "../../lib/orchestrator/server.ts";
import { receiptFor } from "../../lib/orchestrator/receipts.ts";
import { ledgerEntryFor } from "../../lib/orchestrator/rewards.ts";
import type { JobRecord } from "../../lib/orchestrator/store.ts";
import { startTestOrchestrator, startTestWorker, WALLET, waitUntil } from "../helpers/harness.ts";

const SECRET = "receipt-test-dispatch-secret";
const HASHED_FIELDS = [
  "receiptVersion", "jobId", "userId", "userWallet", "workerId", "workerWallet", "modelId", "promptTokens", "outputTokens",
  "latencyMs", "qualityBps", "uptimeBps", "latencyBps", "modelMultiplierBps", "totalChargedRaw", "workerRewardRaw",
  "protocolFeeRaw", "tokenSymbol", "tokenAddress", "chainId", "createdAt",
];

let orchestrator: Orchestrator;
let stop: () => Promise<void>;
let client: OpenAI;

beforeAll(async () => {
  orchestrator = await startTestOrchestrator({ dispatchSecret: SECRET });
  ({ stop } = await startTestWorker(orchestrator));
  await waitUntil("worker online", () => orchestrator.registry.size === 1);
  client = new OpenAI({ baseURL: `${orchestrator.url}/v1`, apiKey: SECRET, maxRetries: 0 });
});

afterAll(async () => {
  await stop();
  await orchestrator.close();
});

async function fetchReceipt(hash: string, token = SECRET) {
  const res = await fetch(`${orchestrator.url}/api/receipts/${hash}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as { hash: string; receipt: Record<string, unknown>; status: string; error?: unknown } };
}

function independentHash(receipt: unknown): string {
  return createHash("sha256").update(canonicalize(receipt) as string, "utf8").digest("hex");
}

describe("receipts", () => {
  test("a whole answer carries x-basis-receipt; the receipt's hash recomputes independently", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "basis-default", messages: [{ role: "user", content: "receipt please" }], user: "alice" })
      .withResponse();
    const hash = response.headers.get("x-basis-receipt") ?? "";
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    const { status, body } = await fetchReceipt(hash);
    expect(status).toBe(200);
    expect(body.hash).toBe(hash);
    expect(Object.keys(body.receipt).sort()).toEqual([...HASHED_FIELDS].sort());
    expect(independentHash(body.receipt)).toBe(hash);
    expect(body.receipt).toMatchObject({
      jobId: response.headers.get("x-basis-job-id"),
      userId: "alice",
      workerId: "test-worker",
      workerWallet: WALLET,
      modelId: "basis-default",
      outputTokens: data.usage?.completion_tokens,
      promptTokens: data.usage?.prompt_tokens,
      chainId: 8453,
      tokenSymbol: "BASIS",
    });
    // The echo simulator never pays: the status outside the hash says so.
    expect(body.status).toBe("not_payable");
  });

  test("a stream carries the hash on its last chunk", async () => {
    const stream = await client.chat.completions.create({ model: "basis-default", messages: [{ role: "user", content: "stream" }], stream: true });
    let last: unknown;
    for await (const chunk of stream) last = chunk;
    const hash = (last as { x_basis_receipt?: string }).x_basis_receipt ?? "";
    const { body } = await fetchReceipt(hash);
    expect(independentHash(body.receipt)).toBe(hash);
  });

  test("an unknown hash is 404, a malformed one 400, a missing token 401", async () => {
    expect((await fetchReceipt("0".repeat(64))).status).toBe(404);
    expect((await fetchReceipt("xyz")).status).toBe(400);
    expect((await fetchReceipt("0".repeat(64), "wrong")).status).toBe(401);
  });

  test("a duplicate job id is refused: the first receipt stays, the second is never stored", async () => {
    const job: JobRecord = {
      job_id: "job_dup", worker_id: "test-worker", worker_wallet: WALLET, model: "basis-default", status: "completed",
      prompt_tokens: 3, completion_tokens: 5, latency_ms: 40, payable: true, created_at: 1_700_000_000_000,
    };
    const first = receiptFor(job, [], undefined);
    const second = receiptFor({ ...job, completion_tokens: 500 }, [], undefined);
    orchestrator.store.recordJob(job, ledgerEntryFor(job, []), first);
    orchestrator.store.recordJob({ ...job, completion_tokens: 500 }, ledgerEntryFor({ ...job, completion_tokens: 500 }, []), second);
    expect((await orchestrator.store.getReceipt(first.hash))?.receipt.core).toBe(first.core);
    expect(await orchestrator.store.getReceipt(second.hash)).toBeUndefined();
    const { body } = await fetchReceipt(first.hash);
    // 3 x 460 + 5 x 1840 whole credits per 1M tokens = 10580 raw; 90% to the worker.
    expect(body.receipt).toMatchObject({ outputTokens: 5, totalChargedRaw: "10580", workerRewardRaw: "9522", protocolFeeRaw: "1058", userId: "anonymous" });
    expect(independentHash(body.receipt)).toBe(first.hash);
  });
});
