/** The Store on SQLite (bun:sqlite), with versioned migrations applied at open. */
import { Database } from "bun:sqlite";
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { type FileHandle, open as openFile } from "node:fs/promises";
import { join } from "node:path";
import { setImmediate } from "node:timers";
import { BasisError } from "../core/errors.ts";
import { sumAmounts } from "../core/rewards.ts";
import type {
  JobRecord,
  NewOffer,
  OfferInsertOutcome,
  ReceiptRecord,
  OfferRecord,
  RegisterInput,
  RegisterOutcome,
  RewardEntry,
  RewardTotals,
  Store,
  WorkerRecord,
} from "./store.ts";

/** Append only: a migration, once released, is never edited. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE workers (
     worker_id TEXT PRIMARY KEY,
     worker_wallet TEXT NOT NULL,
     runtime TEXT NOT NULL,
     models TEXT NOT NULL,
     registered_at INTEGER NOT NULL,
     last_seen_at INTEGER,
     jobs_completed INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE jobs (
     job_id TEXT PRIMARY KEY,
     worker_id TEXT NOT NULL REFERENCES workers(worker_id),
     worker_wallet TEXT NOT NULL,
     model TEXT NOT NULL,
     status TEXT NOT NULL,
     prompt_tokens INTEGER NOT NULL,
     completion_tokens INTEGER NOT NULL,
     latency_ms INTEGER NOT NULL,
     payable INTEGER NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX jobs_by_worker ON jobs(worker_id, created_at);`,
  // 2: HTTP heartbeats kept apart from socket activity; one reward ledger line per routed job.
  `ALTER TABLE workers ADD COLUMN last_heartbeat_at INTEGER;
   CREATE TABLE reward_entries (
     job_id TEXT PRIMARY KEY REFERENCES jobs(job_id),
     worker_id TEXT NOT NULL REFERENCES workers(worker_id),
     worker_wallet TEXT NOT NULL,
     model TEXT NOT NULL,
     job_status TEXT NOT NULL,
     state TEXT NOT NULL,
     charged_raw TEXT NOT NULL,
     reward_raw TEXT NOT NULL,
     reason TEXT,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX reward_entries_by_worker ON reward_entries(worker_id, created_at);`,
  // 3: signed price/model offers (immutable: triggers refuse UPDATE and DELETE) and the last canary pass.
  `ALTER TABLE workers ADD COLUMN canary_passed_at INTEGER;
   CREATE TABLE offers (
     offer_id TEXT PRIMARY KEY,
     worker_id TEXT NOT NULL REFERENCES workers(worker_id),
     worker_wallet TEXT NOT NULL,
     price_version INTEGER NOT NULL,
     nonce TEXT NOT NULL,
     issued_at INTEGER NOT NULL,
     valid_until INTEGER NOT NULL,
     manifest TEXT NOT NULL,
     flags TEXT NOT NULL,
     accepted_at INTEGER NOT NULL,
     UNIQUE (worker_id, price_version),
     UNIQUE (worker_id, nonce)
   );
   CREATE TRIGGER offers_no_update BEFORE UPDATE ON offers BEGIN SELECT RAISE(ABORT, 'offers are immutable'); END;
   CREATE TRIGGER offers_no_delete BEFORE DELETE ON offers BEGIN SELECT RAISE(ABORT, 'offers are immutable'); END;`,
  // 4: job receipts (immutable), one per job id.
  `CREATE TABLE receipts (
     hash TEXT PRIMARY KEY,
     job_id TEXT NOT NULL UNIQUE REFERENCES jobs(job_id),
     core TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TRIGGER receipts_no_update BEFORE UPDATE ON receipts BEGIN SELECT RAISE(ABORT, 'receipts are immutable'); END;
   CREATE TRIGGER receipts_no_delete BEFORE DELETE ON receipts BEGIN SELECT RAISE(ABORT, 'receipts are immutable'); END;`,
  // 5: the network's verification job is no longer called a canary (that is the local self-test).
  `ALTER TABLE workers RENAME COLUMN canary_passed_at TO verified_at;`,
];

interface WorkerRow {
  worker_id: string;
  worker_wallet: string;
  runtime: string;
  models: string;
  registered_at: number;
  last_seen_at: number | null;
  last_heartbeat_at: number | null;
  jobs_completed: number;
  verified_at: number | null;
}

function toRecord(row: WorkerRow): WorkerRecord {
  return { ...row, models: JSON.parse(row.models) as string[] };
}

/** Ledger totals by state, summed in bigint (never through a database's floats). */
export function totalsOf(rows: readonly { state: string; reward_raw: string }[]): RewardTotals {
  const sumOf = (state: string) => sumAmounts(rows.filter((row) => row.state === state).map((row) => row.reward_raw));
  return { pending: sumOf("pending"), batching: sumOf("batching"), settled: sumOf("settled") };
}

export function migrate(db: Database): number {
  db.run("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  const row = db.query("SELECT MAX(version) AS version FROM schema_migrations").get() as { version: number | null };
  let version = row.version ?? 0;
  for (; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.run(MIGRATIONS[version] as string);
      db.run("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", [version + 1, Date.now()]);
    })();
  }
  return version;
}

/** The database and the files SQLite keeps beside it in WAL mode. */
const DATABASE_FILES = ["basis.sqlite", "basis.sqlite-wal", "basis.sqlite-shm"];

function tightenDatabaseFiles(dataDir: string): void {
  for (const name of DATABASE_FILES) {
    const file = join(dataDir, name);
    if (existsSync(file)) chmodSync(file, 0o600);
  }
}

/**
 * The data directory made or tightened to 0700 and the database created 0600 before SQLite
 * opens it (SQLite gives its -wal and -shm files the database's mode); existing files are
 * tightened too. A directory this user cannot make owner-only is refused.
 */
function prepareDataDir(dataDir: string): string {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    chmodSync(dataDir, 0o700);
    const path = join(dataDir, "basis.sqlite");
    closeSync(openSync(path, "a", 0o600));
    tightenDatabaseFiles(dataDir);
    return path;
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? "unknown error";
    throw new BasisError("data_dir_unusable", `Cannot use ${dataDir} as the data directory (${code}).`, {
      cause,
      exitCode: 2,
      hint: "Pass --data a directory this user owns (it is made owner-only, 0700).",
    });
  }
}

export interface SqliteStoreOptions {
  /**
   * `normal` (default): a commit is durable across a crash of this process. `full`: each group
   * commit's WAL also reaches the disk (fdatasync, off the event loop) before its callers hear
   * back, so an answered job survives a power cut too, at the latency of one fsync.
   */
  sync?: "normal" | "full";
}

export function openSqliteStore(dataDir: string | undefined, options: SqliteStoreOptions = {}): SqliteStore {
  const path = dataDir ? prepareDataDir(dataDir) : ":memory:";
  const db = new Database(path, { create: true, strict: true });
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = NORMAL");
  db.run("PRAGMA foreign_keys = ON");
  db.run("PRAGMA busy_timeout = 5000");
  migrate(db);
  // Files an older version left 0644 beside the database are tightened once SQLite has them open.
  if (dataDir) tightenDatabaseFiles(dataDir);
  return new SqliteStore(db, dataDir !== undefined, dataDir && options.sync === "full" ? `${path}-wal` : undefined);
}

/** A job waiting for its group commit, and the caller waiting on that commit. */
interface PendingJob {
  job: JobRecord;
  reward: RewardEntry;
  receipt: ReceiptRecord | undefined;
  committed: () => void;
  failed: (error: unknown) => void;
}

export class SqliteStore implements Store {
  readonly driver = "sqlite";
  private readonly selectWorker;
  private readonly selectWorkers;
  private readonly insertWorker;
  private readonly updateWorker;
  private readonly touch;
  private readonly heartbeat;
  private readonly insertJob;
  private pendingJobs: PendingJob[] = [];
  private readonly insertReceipt;
  private readonly selectReceipt;
  private readonly selectReward;
  private open = true;
  private readonly insertReward;
  private readonly selectRewards;
  private readonly countRewards;
  private readonly selectAmounts;
  private readonly countCompleted;
  private readonly insertOfferRow;
  private readonly selectLatestOffer;
  private readonly selectLatestOffers;
  private readonly selectNonce;
  private readonly verification;

  /** How many times the WAL was fsynced (`sync: "full"`): one per run of commits, not per job. */
  walSyncs = 0;
  private awaitingSync: PendingJob[] = [];
  private syncRun: Promise<void> | undefined;
  private wal: FileHandle | undefined;

  constructor(
    readonly db: Database,
    readonly durable: boolean,
    /** The WAL to fsync after each group commit; none: a commit is enough. */
    private readonly walPath?: string,
  ) {
    this.selectWorker = db.query<WorkerRow, [string]>("SELECT * FROM workers WHERE worker_id = ?");
    this.selectWorkers = db.query<WorkerRow, []>("SELECT * FROM workers ORDER BY worker_id");
    this.insertWorker = db.query(
      "INSERT INTO workers (worker_id, worker_wallet, runtime, models, registered_at) VALUES ($id, $wallet, $runtime, $models, $at)",
    );
    this.updateWorker = db.query("UPDATE workers SET runtime = $runtime, models = $models WHERE worker_id = $id");
    this.touch = db.query("UPDATE workers SET last_seen_at = $at WHERE worker_id = $id");
    this.heartbeat = db.query("UPDATE workers SET last_seen_at = $at, last_heartbeat_at = $at WHERE worker_id = $id");
    this.insertJob = db.query(
      `INSERT OR IGNORE INTO jobs (job_id, worker_id, worker_wallet, model, status, prompt_tokens, completion_tokens, latency_ms, payable, created_at)
       VALUES ($job_id, $worker_id, $worker_wallet, $model, $status, $prompt_tokens, $completion_tokens, $latency_ms, $payable, $created_at)`,
    );
    this.insertReward = db.query(
      `INSERT INTO reward_entries (job_id, worker_id, worker_wallet, model, job_status, state, charged_raw, reward_raw, reason, created_at)
       VALUES ($job_id, $worker_id, $worker_wallet, $model, $job_status, $state, $charged_raw, $reward_raw, $reason, $created_at)`,
    );
    this.insertReceipt = db.query("INSERT INTO receipts (hash, job_id, core, created_at) VALUES ($hash, $job_id, $core, $created_at)");
    this.selectReceipt = db.query<ReceiptRecord, [string]>("SELECT hash, job_id, core, created_at FROM receipts WHERE hash = ?");
    this.selectReward = db.query<RewardEntry, [string]>("SELECT * FROM reward_entries WHERE job_id = ?");
    this.selectRewards = db.query<RewardEntry, [string, number]>(
      "SELECT * FROM reward_entries WHERE worker_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?",
    );
    this.countRewards = db.query<{ n: number }, [string]>("SELECT COUNT(*) AS n FROM reward_entries WHERE worker_id = ?");
    // Amounts are summed in bigint here, not by SQLite, whose SUM over text would go through floats.
    this.selectAmounts = db.query<{ state: string; reward_raw: string }, [string]>(
      "SELECT state, reward_raw FROM reward_entries WHERE worker_id = ? AND state IN ('pending', 'batching', 'settled')",
    );
    this.countCompleted = db.query("UPDATE workers SET jobs_completed = jobs_completed + 1 WHERE worker_id = $id");
    this.insertOfferRow = db.query(
      `INSERT INTO offers (offer_id, worker_id, worker_wallet, price_version, nonce, issued_at, valid_until, manifest, flags, accepted_at)
       VALUES ($offer_id, $worker_id, $worker_wallet, $price_version, $nonce, $issued_at, $valid_until, $manifest, $flags, $accepted_at)`,
    );
    this.selectLatestOffer = db.query<OfferRecord, [string]>(
      "SELECT * FROM offers WHERE worker_id = ? ORDER BY price_version DESC LIMIT 1",
    );
    this.selectLatestOffers = db.query<OfferRecord, []>(
      `SELECT o.* FROM offers o
       JOIN (SELECT worker_id, MAX(price_version) AS v FROM offers GROUP BY worker_id) latest
         ON latest.worker_id = o.worker_id AND latest.v = o.price_version
       ORDER BY o.worker_id`,
    );
    this.selectNonce = db.query<{ n: number }, [string, string]>("SELECT COUNT(*) AS n FROM offers WHERE worker_id = ? AND nonce = ?");
    this.verification = db.query("UPDATE workers SET verified_at = $at WHERE worker_id = $id");
  }

  private worker(workerId: string): WorkerRecord | undefined {
    const row = this.selectWorker.get(workerId);
    return row ? toRecord(row) : undefined;
  }

  async getWorker(workerId: string): Promise<WorkerRecord | undefined> {
    this.flushJobs();
    return this.worker(workerId);
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    this.flushJobs();
    return this.selectWorkers.all().map(toRecord);
  }

  async registerWorker(input: RegisterInput): Promise<RegisterOutcome> {
    this.flushJobs();
    return this.db.transaction((): RegisterOutcome => {
      const existing = this.worker(input.worker_id);
      const models = JSON.stringify(input.models);
      if (existing) {
        if (existing.worker_wallet.toLowerCase() !== input.worker_wallet.toLowerCase()) {
          return { ok: false, reason: "wallet_conflict", worker: existing };
        }
        this.updateWorker.run({ id: input.worker_id, runtime: input.runtime, models });
        return { ok: true, created: false, worker: this.worker(input.worker_id) as WorkerRecord };
      }
      this.insertWorker.run({ id: input.worker_id, wallet: input.worker_wallet, runtime: input.runtime, models, at: input.at });
      return { ok: true, created: true, worker: this.worker(input.worker_id) as WorkerRecord };
    })();
  }

  async touchWorker(workerId: string, at: number): Promise<void> {
    this.touch.run({ id: workerId, at });
  }

  async recordHeartbeat(workerId: string, at: number): Promise<void> {
    this.heartbeat.run({ id: workerId, at });
  }

  /**
   * Group commit: job records are queued and written together, one transaction per event-loop
   * turn (a transaction per job was a quarter of the orchestrator's CPU under load), and each
   * caller's promise settles only once its transaction has committed, so an answer that waits
   * on it never precedes its record. Every read flushes the queue first, so callers always read
   * their own writes.
   */
  recordJob(job: JobRecord, reward: RewardEntry, receipt?: ReceiptRecord): Promise<void> {
    if (!this.open) return Promise.reject(new Error("the store is closed"));
    return new Promise<void>((committed, failed) => {
      this.pendingJobs.push({ job, reward, receipt, committed, failed });
      if (this.pendingJobs.length === 1) setImmediate(this.flushJobs);
    });
  }

  private writeJobs(batch: readonly PendingJob[]): void {
    this.db.transaction(() => {
      for (const { job, reward, receipt } of batch) {
        // A job id is recorded once (a receipt is never duplicated); a repeat writes nothing.
        if (this.insertJob.run({ ...job, payable: job.payable ? 1 : 0 }).changes === 0) continue;
        this.insertReward.run({ ...reward });
        if (receipt) this.insertReceipt.run({ ...receipt });
        if (job.status === "completed") this.countCompleted.run({ id: job.worker_id });
      }
    })();
  }

  private readonly flushJobs = (): void => {
    if (this.pendingJobs.length === 0 || !this.open) return;
    const batch = this.pendingJobs;
    this.pendingJobs = [];
    try {
      this.writeJobs(batch);
    } catch {
      // One bad record must not fail its neighbours: retry each alone, and fail only those that fail.
      const written: PendingJob[] = [];
      for (const pending of batch) {
        try {
          this.writeJobs([pending]);
          written.push(pending);
        } catch (error) {
          pending.failed(error);
        }
      }
      this.committed(written);
      return;
    }
    this.committed(batch);
  };

  /** Callers whose transaction committed hear back at once, or once the WAL is on the disk. */
  private committed(batch: PendingJob[]): void {
    if (!this.walPath) {
      for (const pending of batch) pending.committed();
      return;
    }
    this.awaitingSync.push(...batch);
    this.syncRun ??= this.syncWal(this.walPath);
  }

  /** One fdatasync at a time; the commits that land while one runs share the next. */
  private async syncWal(walPath: string): Promise<void> {
    while (this.awaitingSync.length > 0) {
      const batch = this.awaitingSync;
      this.awaitingSync = [];
      try {
        this.wal ??= await openFile(walPath, "r");
        await this.wal.datasync();
        this.walSyncs++;
      } catch (error) {
        for (const pending of batch) pending.failed(error);
        continue;
      }
      for (const pending of batch) pending.committed();
    }
    this.syncRun = undefined;
  }

  async getReceipt(hash: string): Promise<{ receipt: ReceiptRecord; reward: RewardEntry | undefined } | undefined> {
    this.flushJobs();
    const receipt = this.selectReceipt.get(hash);
    return receipt ? { receipt, reward: this.selectReward.get(receipt.job_id) ?? undefined } : undefined;
  }

  async listRewardEntries(workerId: string, limit: number): Promise<RewardEntry[]> {
    this.flushJobs();
    return this.selectRewards.all(workerId, limit);
  }

  async countRewardEntries(workerId: string): Promise<number> {
    this.flushJobs();
    return this.countRewards.get(workerId)?.n ?? 0;
  }

  async sumRewards(workerId: string): Promise<RewardTotals> {
    this.flushJobs();
    return totalsOf(this.selectAmounts.all(workerId));
  }

  async insertOffer(offer: NewOffer): Promise<OfferInsertOutcome> {
    // One transaction: two concurrent publishes cannot both pass the replay check or share a version.
    return this.db.transaction((): OfferInsertOutcome => {
      const latest = this.selectLatestOffer.get(offer.worker_id) ?? undefined;
      if ((this.selectNonce.get(offer.worker_id, offer.nonce)?.n ?? 0) > 0) return { ok: false, reason: "nonce_used", latest };
      if (latest && offer.issued_at <= latest.issued_at) return { ok: false, reason: "not_newer", latest };
      const stored: OfferRecord = { ...offer, price_version: (latest?.price_version ?? 0) + 1 };
      this.insertOfferRow.run({ ...stored });
      return { ok: true, offer: stored };
    })();
  }

  async latestOffer(workerId: string): Promise<OfferRecord | undefined> {
    return this.selectLatestOffer.get(workerId) ?? undefined;
  }

  async listLatestOffers(): Promise<OfferRecord[]> {
    return this.selectLatestOffers.all();
  }

  async recordVerification(workerId: string, passed: boolean, at: number): Promise<void> {
    this.verification.run({ id: workerId, at: passed ? at : null });
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.flushJobs();
    this.open = false;
    await this.syncRun;
    await this.wal?.close();
    this.db.close();
  }
}
