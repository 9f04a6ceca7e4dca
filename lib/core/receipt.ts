/**
 * A finished job's receipt: the public economic core of the Basis receipt
 * (reference/basis-network.md), hashed as the hex SHA-256 of its RFC 8785 (JCS) canonical
 * JSON. The core holds only strings, integers and null, for which canonical-json.ts writes
 * exactly JCS. Status and settlement pointers sit outside the hash.
 */
import { sha256 } from "@noble/hashes/sha2";
import { bytesToHex } from "@noble/hashes/utils";
import { canonicalJson } from "./canonical-json.ts";
import type { JobReward } from "./rewards.ts";

export const RECEIPT_VERSION = 1;
/** $BASIS on Base. */
export const RECEIPT_TOKEN = { symbol: "BASIS", chainId: 8453 } as const;
/** The reference orchestrator weighs no quality, uptime, latency or model factor: each is 1x. */
export const ONE_X_BPS = 10_000;

export interface ReceiptCore {
  receiptVersion: number;
  jobId: string;
  userId: string;
  userWallet: string | null;
  workerId: string;
  workerWallet: string | null;
  modelId: string;
  promptTokens: number;
  outputTokens: number;
  latencyMs: number;
  qualityBps: number;
  uptimeBps: number;
  latencyBps: number;
  modelMultiplierBps: number;
  totalChargedRaw: string;
  workerRewardRaw: string;
  protocolFeeRaw: string;
  tokenSymbol: string;
  /** Null until a token contract is configured for settlement (dry run). */
  tokenAddress: string | null;
  chainId: number;
  createdAt: string;
}

export interface ReceiptInput {
  jobId: string;
  /** The request's `user`, else `anonymous`: this gateway has no user accounts. */
  userId: string | undefined;
  workerId: string;
  workerWallet: string;
  modelId: string;
  promptTokens: number;
  outputTokens: number;
  latencyMs: number;
  reward: JobReward;
  createdAtMs: number;
}

export function buildReceiptCore(input: ReceiptInput): ReceiptCore {
  return {
    receiptVersion: RECEIPT_VERSION,
    jobId: input.jobId,
    userId: input.userId || "anonymous",
    userWallet: null,
    workerId: input.workerId,
    workerWallet: input.workerWallet,
    modelId: input.modelId,
    promptTokens: input.promptTokens,
    outputTokens: input.outputTokens,
    latencyMs: Math.max(0, Math.round(input.latencyMs)),
    qualityBps: ONE_X_BPS,
    uptimeBps: ONE_X_BPS,
    latencyBps: ONE_X_BPS,
    modelMultiplierBps: ONE_X_BPS,
    totalChargedRaw: input.reward.charged_raw.toString(),
    workerRewardRaw: input.reward.reward_raw.toString(),
    protocolFeeRaw: input.reward.fee_raw.toString(),
    tokenSymbol: RECEIPT_TOKEN.symbol,
    tokenAddress: null,
    chainId: RECEIPT_TOKEN.chainId,
    createdAt: new Date(input.createdAtMs).toISOString(),
  };
}

/** Lower-case hex SHA-256 of the core's canonical JSON. */
export function hashReceipt(core: ReceiptCore): string {
  return bytesToHex(sha256(new TextEncoder().encode(canonicalJson(core))));
}

export const RECEIPT_HASH_PATTERN = /^[0-9a-f]{64}$/;
