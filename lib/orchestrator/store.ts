/**
 * The reference orchestrator's durable state, behind a small interface so another driver
 * (PostgreSQL) can follow without touching the routes.
 */

export interface WorkerRecord {
  worker_id: string;
  worker_wallet: string;
  runtime: string;
  models: string[];
  registered_at: number;
  last_seen_at: number | null;
  jobs_completed: number;
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

export type RegisterOutcome =
  | { ok: true; created: boolean; worker: WorkerRecord }
  | { ok: false; reason: "wallet_conflict"; worker: WorkerRecord };

export interface Store {
  readonly driver: string;
  getWorker(workerId: string): WorkerRecord | undefined;
  /** Binds a worker id to a wallet on first sight; the same id with another wallet is refused. */
  registerWorker(input: RegisterInput): RegisterOutcome;
  touchWorker(workerId: string, at: number): void;
  recordJob(job: JobRecord): void;
  close(): void;
}
