/** Receipts of finished jobs: built when a job completes, served by `GET /api/receipts/:hash`. */
import type { AnswerOf, ReceiptAnswerSchema } from "../core/api-contract.ts";
import { buildReceiptCore, hashReceipt } from "../core/receipt.ts";
import { canonicalJson } from "../core/canonical-json.ts";
import { ledgerLinePays, rewardForJob } from "../core/rewards.ts";
import { SETTLEMENT } from "./rewards.ts";
import type { JobRecord, ReceiptRecord, RewardEntry } from "./store.ts";

/** The receipt of a completed job; `reasons` are the anti-cheat verdict's, as in its ledger line. */
export function receiptFor(job: JobRecord, reasons: readonly string[], userId: string | undefined): ReceiptRecord {
  const core = buildReceiptCore({
    jobId: job.job_id,
    userId,
    workerId: job.worker_id,
    workerWallet: job.worker_wallet,
    modelId: job.model,
    promptTokens: job.prompt_tokens,
    outputTokens: job.completion_tokens,
    latencyMs: job.latency_ms,
    reward: rewardForJob({ ...job, reasons }),
    createdAtMs: job.created_at,
  });
  return { hash: hashReceipt(core), job_id: job.job_id, core: canonicalJson(core), created_at: job.created_at };
}

export function receiptView(receipt: ReceiptRecord, reward: RewardEntry | undefined): AnswerOf<typeof ReceiptAnswerSchema> {
  return {
    hash: receipt.hash,
    receipt: JSON.parse(receipt.core) as Record<string, unknown>,
    // Outside the hash: where the job's ledger line stands, and settlement pointers.
    status: reward?.state ?? "pending",
    payable: reward ? ledgerLinePays(reward.state) : false,
    reason: reward?.reason ?? null,
    hashAlgorithm: "sha256(rfc8785-jcs(receipt))",
    settlement: { ...SETTLEMENT, batchHash: null, txHash: null },
  };
}
