/**
 * The reference orchestrator's durable state, behind a small interface so another driver
 * (PostgreSQL) can follow without touching the routes.
 */
import type { LedgerState } from "../core/rewards.ts";

export interface WorkerRecord {
  worker_id: string;
  worker_wallet: string;
  runtime: string;
  models: string[];
  registered_at: number;
  /** Last activity from any source (socket or HTTP), for people to read. */
  last_seen_at: number | null;
  /** Last HTTP heartbeat only: presence keeps the two sources apart. */
  last_heartbeat_at: number | null;
  jobs_completed: number;
  /** The last passed verification job; a failed one clears it (see docs/PRICES.md). */
  verified_at: number | null;
}

export interface RegisterInput {
  worker_id: string;
  worker_wallet: string;
  runtime: string;
  models: string[];
  at: number;
}

export interface JobRecord {
  job_id: string;
  worker_id: string;
  worker_wallet: string;
  model: string;
  status: "completed" | "failed";
  prompt_tokens: number;
  completion_tokens: number;
  latency_ms: number;
  payable: boolean;
  created_at: number;
}

/** One job's line in its worker's ledger; amounts are raw micro-credits as decimal strings. */
export interface RewardEntry {
  job_id: string;
  worker_id: string;
  worker_wallet: string;
  model: string;
  job_status: "completed" | "failed";
  state: LedgerState;
  charged_raw: string;
  reward_raw: string;
  reason: string | null;
  created_at: number;
}

export interface RewardTotals {
  pending: bigint;
  batching: bigint;
  settled: bigint;
}

/** An accepted price/model offer: immutable once stored. Times are epoch ms. */
export interface OfferRecord {
  offer_id: string;
  worker_id: string;
  worker_wallet: string;
  /** 1, 2, 3... per worker, in the order offers were accepted. */
  price_version: number;
  nonce: string;
  issued_at: number;
  valid_until: number;
  /** The signed manifest exactly as accepted (JSON text), so anyone can re-verify it. */
  manifest: string;
  /** Rail flags (e.g. a `high` price) as JSON text. */
  flags: string;
  accepted_at: number;
}

export type NewOffer = Omit<OfferRecord, "price_version">;

export type OfferInsertOutcome =
  | { ok: true; offer: OfferRecord }
  | { ok: false; reason: "nonce_used" | "not_newer"; latest: OfferRecord | undefined };

export type RegisterOutcome =
  | { ok: true; created: boolean; worker: WorkerRecord }
  | { ok: false; reason: "wallet_conflict"; worker: WorkerRecord };

export interface Store {
  readonly driver: string;
  /** False for an in-memory store: everything is lost when the process ends. */
  readonly durable: boolean;
  getWorker(workerId: string): WorkerRecord | undefined;
  listWorkers(): WorkerRecord[];
  /** Binds a worker id to a wallet on first sight; the same id with another wallet is refused. */
  registerWorker(input: RegisterInput): RegisterOutcome;
  /** Socket activity: moves last_seen_at only. */
  touchWorker(workerId: string, at: number): void;
  /** An HTTP heartbeat: moves last_heartbeat_at and last_seen_at. */
  recordHeartbeat(workerId: string, at: number): void;
  /** The job and its ledger line are written together or not at all. */
  recordJob(job: JobRecord, reward: RewardEntry): void;
  /** Newest first. */
  listRewardEntries(workerId: string, limit: number): RewardEntry[];
  countRewardEntries(workerId: string): number;
  sumRewards(workerId: string): RewardTotals;
  /**
   * Stores an offer with the next priceVersion, unless its nonce was used before by that
   * worker or its issued_at is not strictly newer than the latest accepted one (a replay).
   */
  insertOffer(offer: NewOffer): OfferInsertOutcome;
  latestOffer(workerId: string): OfferRecord | undefined;
  /** The latest offer of every worker that has one, by worker id. */
  listLatestOffers(): OfferRecord[];
  /** A passed verification job sets verified_at; a failed one clears it. */
  recordVerification(workerId: string, passed: boolean, at: number): void;
  close(): void;
}
