/**
 * The reference orchestrator's durable state, behind one interface with two drivers: SQLite
 * (sqlite-store.ts, the embedded default) and PostgreSQL (postgres-store.ts, for several
 * orchestrators on one database). Both pass the same test suite (tests/orchestrator/store.test.ts).
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

/** A finished job's receipt: the hashed core as canonical JSON text, and its hash. */
export interface ReceiptRecord {
  hash: string;
  job_id: string;
  /** The hashed core exactly as hashed (canonical JSON), so anyone can recompute the hash. */
  core: string;
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

/**
 * Every call is asynchronous: PostgreSQL's client is, and SQLite's synchronous calls cost
 * nothing extra behind a resolved promise. A write's promise resolves once it is durable.
 */
export interface Store {
  readonly driver: "sqlite" | "postgres";
  /** False for an in-memory store: everything is lost when the process ends. */
  readonly durable: boolean;
  getWorker(workerId: string): Promise<WorkerRecord | undefined>;
  listWorkers(): Promise<WorkerRecord[]>;
  /** Binds a worker id to a wallet on first sight; the same id with another wallet is refused. */
  registerWorker(input: RegisterInput): Promise<RegisterOutcome>;
  /** Socket activity: moves last_seen_at only. */
  touchWorker(workerId: string, at: number): Promise<void>;
  /** An HTTP heartbeat: moves last_heartbeat_at and last_seen_at. */
  recordHeartbeat(workerId: string, at: number): Promise<void>;
  /**
   * The job, its ledger line and (for a completed job) its receipt are written together or not
   * at all, once per job id: a repeat, and any receipt it carries, writes nothing. Writes are
   * grouped into one transaction per event-loop turn; the promise resolves when the group is
   * committed.
   */
  recordJob(job: JobRecord, reward: RewardEntry, receipt?: ReceiptRecord): Promise<void>;
  /** A receipt by its hash, with its job's ledger line (status and amounts outside the hash). */
  getReceipt(hash: string): Promise<{ receipt: ReceiptRecord; reward: RewardEntry | undefined } | undefined>;
  /** Newest first. */
  listRewardEntries(workerId: string, limit: number): Promise<RewardEntry[]>;
  countRewardEntries(workerId: string): Promise<number>;
  sumRewards(workerId: string): Promise<RewardTotals>;
  /**
   * Stores an offer with the next priceVersion, unless its nonce was used before by that
   * worker or its issued_at is not strictly newer than the latest accepted one (a replay).
   */
  insertOffer(offer: NewOffer): Promise<OfferInsertOutcome>;
  latestOffer(workerId: string): Promise<OfferRecord | undefined>;
  /** The latest offer of every worker that has one, by worker id. */
  listLatestOffers(): Promise<OfferRecord[]>;
  /** A passed verification job sets verified_at; a failed one clears it. */
  recordVerification(workerId: string, passed: boolean, at: number): Promise<void>;
  /** Writes what is queued, then closes. */
  close(): Promise<void>;
}
