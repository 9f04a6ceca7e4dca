/**
 * Reward arithmetic for one routed job, in bigint raw micro-credits (1 whole credit = 1e6 raw).
 * Floor division everywhere, so rounding never favours the worker over the ledger; amounts
 * leave this module as decimal strings, never as floats.
 */
import { NETWORK_DEFAULT_ASK } from "./price-rails.ts";

/** Basis points: 10000 = 1x. */
export const BPS = 10_000n;

/** The worker's share of what a job is worth; the rest is the protocol fee. */
export const WORKER_SHARE_BPS = 9_000n;

export const TOKENS_PER_PRICE_UNIT = 1_000_000n;

/** Raw micro-credits per 1M tokens. */
export interface TokenPrice {
  prompt: bigint;
  output: bigint;
}

/** The network default ask (460 / 1840 whole credits per 1M tokens), from the one rails module. */
export const NETWORK_DEFAULT_PRICE: TokenPrice = {
  prompt: BigInt(NETWORK_DEFAULT_ASK.prompt_credits_per_1m),
  output: BigInt(NETWORK_DEFAULT_ASK.output_credits_per_1m),
};

export interface JobOutcome {
  status: "completed" | "failed";
  payable: boolean;
  prompt_tokens: number;
  completion_tokens: number;
  /** Why the orchestrator's anti-cheat verdict withheld payment (empty when payable). */
  reasons: readonly string[];
}

export type LedgerState = "pending" | "batching" | "settled" | "not_payable";

/** Whether a ledger line pays: its state, written from the verdict (lib/core/anti-cheat.ts), says so. */
export function ledgerLinePays(state: string): boolean {
  return state !== "not_payable";
}

export interface JobReward {
  charged_raw: bigint;
  reward_raw: bigint;
  fee_raw: bigint;
  state: LedgerState;
  reason: string | null;
}

function toTokenCount(value: number): bigint {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError("token counts are whole, non-negative numbers");
  return BigInt(value);
}

/** floor((prompt * promptPrice + output * outputPrice) / 1M), in raw micro-credits. */
export function chargeForUsage(promptTokens: number, completionTokens: number, price: TokenPrice = NETWORK_DEFAULT_PRICE): bigint {
  const total = toTokenCount(promptTokens) * price.prompt + toTokenCount(completionTokens) * price.output;
  return total / TOKENS_PER_PRICE_UNIT;
}

export function shareOf(amount: bigint, bps: bigint = WORKER_SHARE_BPS): bigint {
  return (amount * bps) / BPS;
}

/**
 * What a job adds to its worker's ledger. A failed job is worth nothing; a completed job the
 * anti-cheat verdict did not pass is valued but pays 0, with the reasons kept for the operator.
 */
export function rewardForJob(job: JobOutcome, price: TokenPrice = NETWORK_DEFAULT_PRICE): JobReward {
  if (job.status === "failed") {
    const reason = job.reasons.length > 0 ? job.reasons.join(",") : "job_failed";
    return { charged_raw: 0n, reward_raw: 0n, fee_raw: 0n, state: "not_payable", reason };
  }
  const charged = chargeForUsage(job.prompt_tokens, job.completion_tokens, price);
  if (!job.payable) {
    const reason = job.reasons.length > 0 ? job.reasons.join(",") : "not_payable";
    return { charged_raw: charged, reward_raw: 0n, fee_raw: 0n, state: "not_payable", reason };
  }
  const reward = shareOf(charged);
  return { charged_raw: charged, reward_raw: reward, fee_raw: charged - reward, state: "pending", reason: null };
}

const AMOUNT = /^(0|[1-9][0-9]*)$/;

/** Sums decimal-string amounts exactly; a value that is not a plain integer string is refused. */
export function sumAmounts(amounts: Iterable<string>): bigint {
  let total = 0n;
  for (const amount of amounts) {
    if (!AMOUNT.test(amount)) throw new RangeError("an amount is not a non-negative integer string");
    total += BigInt(amount);
  }
  return total;
}
