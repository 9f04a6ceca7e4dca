/**
 * The Store on PostgreSQL through Bun's built-in SQL client, for several orchestrators on one
 * database (docs/SCALING.md). Versioned migrations run at open under an advisory lock, so
 * instances starting together apply each one once. Epoch-ms times are BIGINT; amounts stay
 * decimal text and are summed in bigint here, as with SQLite.
 */
import { SQL } from "bun";
import { setImmediate } from "node:timers";
import { totalsOf } from "./sqlite-store.ts";
import type {
  JobRecord,
  NewOffer,
  OfferInsertOutcome,
  OfferRecord,
  ReceiptRecord,
  RegisterInput,
  RegisterOutcome,
  RewardEntry,
  RewardTotals,
  Store,
  WorkerRecord,
} from "./store.ts";

/** Append only: a migration, once released, is never edited. */
export const PG_MIGRATIONS: readonly string[] = [
  `CREATE TABLE workers (
     worker_id TEXT PRIMARY KEY,
     worker_wallet TEXT NOT NULL,
     runtime TEXT NOT NULL,
     models TEXT NOT NULL,
     registered_at BIGINT NOT NULL,
     last_seen_at BIGINT,
     last_heartbeat_at BIGINT,
     jobs_completed INTEGER NOT NULL DEFAULT 0,
     canary_passed_at BIGINT
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
     payable BOOLEAN NOT NULL,
     created_at BIGINT NOT NULL
   );
   CREATE INDEX jobs_by_worker ON jobs(worker_id, created_at);
   CREATE TABLE reward_entries (
     seq BIGSERIAL UNIQUE,
     job_id TEXT PRIMARY KEY REFERENCES jobs(job_id),
     worker_id TEXT NOT NULL REFERENCES workers(worker_id),
     worker_wallet TEXT NOT NULL,
     model TEXT NOT NULL,
     job_status TEXT NOT NULL,
     state TEXT NOT NULL,
     charged_raw TEXT NOT NULL,
     reward_raw TEXT NOT NULL,
     reason TEXT,
     created_at BIGINT NOT NULL
   );
   CREATE INDEX reward_entries_by_worker ON reward_entries(worker_id, created_at);
   CREATE TABLE offers (
     offer_id TEXT PRIMARY KEY,
     worker_id TEXT NOT NULL REFERENCES workers(worker_id),
     worker_wallet TEXT NOT NULL,
     price_version INTEGER NOT NULL,
     nonce TEXT NOT NULL,
     issued_at BIGINT NOT NULL,
     valid_until BIGINT NOT NULL,
     manifest TEXT NOT NULL,
     flags TEXT NOT NULL,
     accepted_at BIGINT NOT NULL,
     UNIQUE (worker_id, price_version),
     UNIQUE (worker_id, nonce)
   );
   CREATE FUNCTION offers_immutable() RETURNS trigger LANGUAGE plpgsql AS
     $$ BEGIN RAISE EXCEPTION 'offers are immutable'; END $$;
   CREATE TRIGGER offers_no_update BEFORE UPDATE OR DELETE ON offers FOR EACH ROW EXECUTE FUNCTION offers_immutable();`,
  // 2: the Socket.io postgres adapter's table for large messages. Created here, once, because
  // two instances racing its CREATE TABLE IF NOT EXISTS at start crashed one.
  `CREATE TABLE IF NOT EXISTS socket_io_attachments (
     id BIGSERIAL UNIQUE,
     created_at TIMESTAMPTZ DEFAULT NOW(),
     payload BYTEA
   );`,
  // 3: job receipts (immutable), one per job id.
  `CREATE TABLE receipts (
     hash TEXT PRIMARY KEY,
     job_id TEXT NOT NULL UNIQUE REFERENCES jobs(job_id),
     core TEXT NOT NULL,
     created_at BIGINT NOT NULL
   );
   CREATE FUNCTION receipts_immutable() RETURNS trigger LANGUAGE plpgsql AS
     $$ BEGIN RAISE EXCEPTION 'receipts are immutable'; END $$;
   CREATE TRIGGER receipts_no_update BEFORE UPDATE OR DELETE ON receipts FOR EACH ROW EXECUTE FUNCTION receipts_immutable();`,
  // 4: the network's verification job is no longer called a canary (that is the local self-test).
  `ALTER TABLE workers RENAME COLUMN canary_passed_at TO verified_at;`,
];

/** Any constant: the advisory lock that serializes migrations across instances. */
const MIGRATION_LOCK = 7_316_245_001;

type Row = Record<string, unknown>;

const num = (value: unknown): number => Number(value);
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

function toWorker(row: Row): WorkerRecord {
  return {
    worker_id: row.worker_id as string,
    worker_wallet: row.worker_wallet as string,
    runtime: row.runtime as string,
    models: JSON.parse(row.models as string) as string[],
    registered_at: num(row.registered_at),
    last_seen_at: numOrNull(row.last_seen_at),
    last_heartbeat_at: numOrNull(row.last_heartbeat_at),
    jobs_completed: num(row.jobs_completed),
    verified_at: numOrNull(row.verified_at),
  };
}

function toReward(row: Row): RewardEntry {
  return {
    job_id: row.job_id as string,
    worker_id: row.worker_id as string,
    worker_wallet: row.worker_wallet as string,
    model: row.model as string,
    job_status: row.job_status as RewardEntry["job_status"],
    state: row.state as RewardEntry["state"],
    charged_raw: row.charged_raw as string,
    reward_raw: row.reward_raw as string,
    reason: (row.reason as string | null) ?? null,
    created_at: num(row.created_at),
  };
}

function toOffer(row: Row): OfferRecord {
  return {
    offer_id: row.offer_id as string,
    worker_id: row.worker_id as string,
    worker_wallet: row.worker_wallet as string,
    price_version: num(row.price_version),
    nonce: row.nonce as string,
    issued_at: num(row.issued_at),
    valid_until: num(row.valid_until),
    manifest: row.manifest as string,
    flags: row.flags as string,
    accepted_at: num(row.accepted_at),
  };
}

/** Applies the migrations not yet applied; returns the schema version. */
export async function migratePostgres(sql: SQL): Promise<number> {
  return await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`;
    const [row] = await tx`SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations`;
    let version = num((row as Row).version);
    for (; version < PG_MIGRATIONS.length; version++) {
      await tx.unsafe(PG_MIGRATIONS[version] as string);
      await tx`INSERT INTO schema_migrations (version, applied_at) VALUES (${version + 1}, ${Date.now()})`;
    }
    return version;
  });
}

export async function openPostgresStore(url: string, options: { maxConnections?: number } = {}): Promise<PostgresStore> {
  const sql = new SQL(url, { max: options.maxConnections ?? 10 });
  try {
    await migratePostgres(sql);
  } catch (error) {
    await sql.close();
    throw error;
  }
  return new PostgresStore(sql);
}

interface PendingJob {
  job: JobRecord;
  reward: RewardEntry;
  receipt: ReceiptRecord | undefined;
  resolve(): void;
  reject(error: unknown): void;
}

export class PostgresStore implements Store {
  readonly driver = "postgres";
  readonly durable = true;
  private pending: PendingJob[] = [];
  /** The group being committed now; reads wait for it, so callers read their own writes. */
  private flushing: Promise<void> = Promise.resolve();
  private open = true;

  constructor(readonly sql: SQL) {}

  async getWorker(workerId: string): Promise<WorkerRecord | undefined> {
    await this.settled();
    const [row] = await this.sql`SELECT * FROM workers WHERE worker_id = ${workerId}`;
    return row ? toWorker(row as Row) : undefined;
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    await this.settled();
    const rows = await this.sql`SELECT * FROM workers ORDER BY worker_id`;
    return (rows as Row[]).map(toWorker);
  }

  async registerWorker(input: RegisterInput): Promise<RegisterOutcome> {
    const models = JSON.stringify(input.models);
    // One statement, so two instances registering the same id at once cannot both create it.
    const inserted = await this.sql`
      INSERT INTO workers (worker_id, worker_wallet, runtime, models, registered_at)
      VALUES (${input.worker_id}, ${input.worker_wallet}, ${input.runtime}, ${models}, ${input.at})
      ON CONFLICT (worker_id) DO NOTHING RETURNING *`;
    if (inserted.length > 0) return { ok: true, created: true, worker: toWorker(inserted[0] as Row) };
    const updated = await this.sql`
      UPDATE workers SET runtime = ${input.runtime}, models = ${models}
      WHERE worker_id = ${input.worker_id} AND LOWER(worker_wallet) = ${input.worker_wallet.toLowerCase()} RETURNING *`;
    if (updated.length > 0) return { ok: true, created: false, worker: toWorker(updated[0] as Row) };
    const existing = await this.getWorker(input.worker_id);
    if (!existing) return await this.registerWorker(input);
    return { ok: false, reason: "wallet_conflict", worker: existing };
  }

  async touchWorker(workerId: string, at: number): Promise<void> {
    await this.sql`UPDATE workers SET last_seen_at = ${at} WHERE worker_id = ${workerId}`;
  }

  async recordHeartbeat(workerId: string, at: number): Promise<void> {
    await this.sql`UPDATE workers SET last_seen_at = ${at}, last_heartbeat_at = ${at} WHERE worker_id = ${workerId}`;
  }

  /** Queued, then written in one transaction per event-loop turn (group commit). */
  recordJob(job: JobRecord, reward: RewardEntry, receipt?: ReceiptRecord): Promise<void> {
    if (!this.open) return Promise.reject(new Error("the store is closed"));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ job, reward, receipt, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => void this.flush());
    });
  }

  private flush(): Promise<void> {
    const run = this.flushing.then(async () => {
      const batch = this.pending.splice(0);
      if (batch.length === 0) return;
      try {
        await this.writeJobs(batch);
      } catch {
        // One bad record must not fail its neighbours: retry each alone, and fail only those that fail.
        for (const pending of batch) {
          try {
            await this.writeJobs([pending]);
          } catch (error) {
            pending.reject(error);
            continue;
          }
          pending.resolve();
        }
        return;
      }
      for (const pending of batch) pending.resolve();
    });
    this.flushing = run;
    return run;
  }

  private async writeJobs(batch: readonly PendingJob[]): Promise<void> {
    // A job id is recorded once across every instance: the primary key decides, a repeat writes nothing.
    const byId = new Map<string, PendingJob>();
    for (const pending of batch) if (!byId.has(pending.job.job_id)) byId.set(pending.job.job_id, pending);
    const jobs = [...byId.values()].map(({ job }) => ({ ...job }));
    await this.sql.begin(async (tx) => {
      const fresh = (await tx`INSERT INTO jobs ${tx(jobs)} ON CONFLICT (job_id) DO NOTHING RETURNING job_id`) as Row[];
      if (fresh.length === 0) return;
      const written = fresh.map((row) => byId.get(row.job_id as string) as PendingJob);
      await tx`INSERT INTO reward_entries ${tx(written.map(({ reward }) => ({ ...reward })))}`;
      const receipts = written.flatMap(({ receipt }) => (receipt ? [{ ...receipt }] : []));
      if (receipts.length > 0) await tx`INSERT INTO receipts ${tx(receipts)}`;
      const completed = new Map<string, number>();
      for (const { job } of written) if (job.status === "completed") completed.set(job.worker_id, (completed.get(job.worker_id) ?? 0) + 1);
      for (const [workerId, count] of completed) {
        await tx`UPDATE workers SET jobs_completed = jobs_completed + ${count} WHERE worker_id = ${workerId}`;
      }
    });
  }

  /** Waits for queued job writes to commit (reads call it first). */
  private async settled(): Promise<void> {
    if (this.pending.length > 0) await this.flush();
    else await this.flushing;
  }

  async getReceipt(hash: string): Promise<{ receipt: ReceiptRecord; reward: RewardEntry | undefined } | undefined> {
    await this.settled();
    const [row] = await this.sql`SELECT hash, job_id, core, created_at FROM receipts WHERE hash = ${hash}`;
    if (!row) return undefined;
    const receipt = { ...(row as ReceiptRecord), created_at: num((row as Row).created_at) };
    const [reward] = await this.sql`SELECT * FROM reward_entries WHERE job_id = ${receipt.job_id}`;
    return { receipt, reward: reward ? toReward(reward as Row) : undefined };
  }

  async listRewardEntries(workerId: string, limit: number): Promise<RewardEntry[]> {
    await this.settled();
    const rows = await this.sql`
      SELECT * FROM reward_entries WHERE worker_id = ${workerId} ORDER BY created_at DESC, seq DESC LIMIT ${limit}`;
    return (rows as Row[]).map(toReward);
  }

  async countRewardEntries(workerId: string): Promise<number> {
    await this.settled();
    const [row] = await this.sql`SELECT COUNT(*) AS n FROM reward_entries WHERE worker_id = ${workerId}`;
    return num((row as Row).n);
  }

  async sumRewards(workerId: string): Promise<RewardTotals> {
    await this.settled();
    const rows = await this.sql`
      SELECT state, reward_raw FROM reward_entries WHERE worker_id = ${workerId} AND state IN ('pending', 'batching', 'settled')`;
    return totalsOf(rows as { state: string; reward_raw: string }[]);
  }

  async insertOffer(offer: NewOffer): Promise<OfferInsertOutcome> {
    return await this.sql.begin(async (tx): Promise<OfferInsertOutcome> => {
      // The worker's row is locked: two publishes at once (on any instances) take turns.
      await tx`SELECT worker_id FROM workers WHERE worker_id = ${offer.worker_id} FOR UPDATE`;
      const [latestRow] = await tx`SELECT * FROM offers WHERE worker_id = ${offer.worker_id} ORDER BY price_version DESC LIMIT 1`;
      const latest = latestRow ? toOffer(latestRow as Row) : undefined;
      const [used] = await tx`SELECT 1 AS hit FROM offers WHERE worker_id = ${offer.worker_id} AND nonce = ${offer.nonce}`;
      if (used) return { ok: false, reason: "nonce_used", latest };
      if (latest && offer.issued_at <= latest.issued_at) return { ok: false, reason: "not_newer", latest };
      const stored: OfferRecord = { ...offer, price_version: (latest?.price_version ?? 0) + 1 };
      await tx`INSERT INTO offers ${tx({ ...stored })}`;
      return { ok: true, offer: stored };
    });
  }

  async latestOffer(workerId: string): Promise<OfferRecord | undefined> {
    const [row] = await this.sql`SELECT * FROM offers WHERE worker_id = ${workerId} ORDER BY price_version DESC LIMIT 1`;
    return row ? toOffer(row as Row) : undefined;
  }

  async listLatestOffers(): Promise<OfferRecord[]> {
    const rows = await this.sql`
      SELECT DISTINCT ON (worker_id) * FROM offers ORDER BY worker_id, price_version DESC`;
    return (rows as Row[]).map(toOffer);
  }

  async recordVerification(workerId: string, passed: boolean, at: number): Promise<void> {
    await this.sql`UPDATE workers SET verified_at = ${passed ? at : null} WHERE worker_id = ${workerId}`;
  }

  async close(): Promise<void> {
    if (!this.open) return;
    await this.settled();
    this.open = false;
    await this.sql.close();
  }
}
