/** A routed job's ledger line, and the ledger as `GET /api/workers/:id/rewards` serves it. */
import type { AnswerOf, RewardsSchema } from "../core/api-contract.ts";
import { ledgerLinePays, rewardForJob, WORKER_SHARE_BPS, NETWORK_DEFAULT_PRICE } from "../core/rewards.ts";
import type { JobRecord, RewardEntry, Store, WorkerRecord } from "./store.ts";

export const SETTLEMENT = {
  state: "gated",
  mode: "dry_run",
  message:
    "Settlement is gated (dry run): rewards are tracked off-chain as pending and nothing is paid or claimable on-chain yet. Amounts are raw micro-credits; conversion to BASIS happens only at settlement.",
} as const;

/** Reasons come from the orchestrator's anti-cheat verdict; a failed job needs none. */
export function ledgerEntryFor(job: JobRecord, reasons: readonly string[]): RewardEntry {
  const reward = rewardForJob({ ...job, reasons });
  return {
    job_id: job.job_id,
    worker_id: job.worker_id,
    worker_wallet: job.worker_wallet,
    model: job.model,
    job_status: job.status,
    state: reward.state,
    charged_raw: reward.charged_raw.toString(),
    reward_raw: reward.reward_raw.toString(),
    reason: reward.reason,
    created_at: job.created_at,
  };
}

export async function rewardsView(store: Store, worker: WorkerRecord, limit: number): Promise<AnswerOf<typeof RewardsSchema>> {
  const [totals, entriesTotal, entries] = await Promise.all([
    store.sumRewards(worker.worker_id),
    store.countRewardEntries(worker.worker_id),
    store.listRewardEntries(worker.worker_id, limit),
  ]);
  return {
    worker_id: worker.worker_id,
    worker_wallet: worker.worker_wallet,
    currency: "BASIS",
    decimals: 18,
    // The amounts below are not yet BASIS base units: see SETTLEMENT.message and docs/API.md.
    amountUnit: "raw_micro_credits",
    amountDecimals: 6,
    pending: totals.pending.toString(),
    batching: totals.batching.toString(),
    settled: totals.settled.toString(),
    entriesTotal,
    entries: entries.map((entry) => ({
      job_id: entry.job_id,
      model: entry.model,
      status: entry.job_status,
      state: entry.state,
      payable: ledgerLinePays(entry.state),
      charged_raw: entry.charged_raw,
      reward_raw: entry.reward_raw,
      reason: entry.reason,
      created_at: new Date(entry.created_at).toISOString(),
    })),
    rule: {
      prompt_credits_per_1m: NETWORK_DEFAULT_PRICE.prompt.toString(),
      output_credits_per_1m: NETWORK_DEFAULT_PRICE.output.toString(),
      workerShareBps: WORKER_SHARE_BPS.toString(),
    },
    settlement: SETTLEMENT,
  };
}
