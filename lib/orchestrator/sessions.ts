/**
 * Live worker connections: who is online, what they serve, how loaded they are, the jobs in
 * flight on each, and how much each has earned the right to carry. Socket events from a worker
 * are matched only against that worker's jobs.
 *
 * Capacity is earned (docs/PROTOCOL.md, "Earned capacity"): a new session may hold at most
 * INITIAL_CAPACITY jobs whatever it advertises; each completion raises that by one toward the
 * advertised concurrency; a setback (a timeout, a failure, a broken stream, misconduct) halves
 * it and cools the worker down for a bounded time that doubles with consecutive setbacks.
 * `isEligible` is the one place that says whether a session may take another job now.
 */
import type { Socket } from "socket.io";
import type { Handshake, JobChunk, JobDone, JobFail } from "../core/protocol.ts";

export interface JobSink {
  /** The worker's first token of a job whose text it does not stream (`job:started`). */
  onFirstToken(): void;
  onChunk(chunk: JobChunk): void;
  onDone(done: JobDone): void;
  onFail(fail: JobFail): void;
  /** The orchestrator ends the job itself (bad payload, text over the cap, session replaced): 502, not payable. */
  abort(reason: string, message: string): void;
}

export interface TrustSettings {
  initialCapacity: number;
  cooldownBaseMs: number;
  cooldownMaxMs: number;
}

export const DEFAULT_TRUST: TrustSettings = { initialCapacity: 2, cooldownBaseMs: 1_000, cooldownMaxMs: 30_000 };

export interface WorkerSession {
  socket: Socket;
  info: Handshake;
  connectedAt: number;
  available: boolean;
  draining: boolean;
  active: number;
  jobs: Map<string, JobSink>;
  /** Jobs it may hold at once now: earned, between 1 and the advertised concurrency. */
  capacity: number;
  /** Not routed jobs before this time (epoch ms). */
  cooldownUntil: number;
  /** Setbacks since the last completion: the cooldown doubles with each. */
  setbacks: number;
  /** The last spot check's outcome; "failed" makes its jobs not payable until one passes. */
  spotCheck: SpotCheckState;
}

export type SpotCheckState = "pending" | "passed" | "failed";

/** The trust fields a new session starts with. */
export function initialTrust(advertised: number, settings: TrustSettings = DEFAULT_TRUST) {
  return { capacity: Math.min(settings.initialCapacity, advertised), cooldownUntil: 0, setbacks: 0, spotCheck: "pending" as SpotCheckState };
}

/** What eligibility reads: a local session or a worker on another instance (fleet.ts). */
export type Eligibility = Pick<WorkerSession, "available" | "draining" | "active" | "capacity" | "cooldownUntil">;

/** Whether a worker may take one more job now: the single routing-eligibility rule, local or remote. */
export function isEligible(session: Eligibility, now: number): boolean {
  return session.available && !session.draining && now >= session.cooldownUntil && session.active < session.capacity;
}

/** A completed job: one more slot, up to what the worker advertised. */
export function recordCompletion(session: WorkerSession): void {
  session.capacity = Math.min(session.info.concurrency, session.capacity + 1);
  session.setbacks = 0;
}

/** A timeout, failure, broken stream or misconduct: half the capacity and a bounded cooldown. */
export function recordSetback(session: WorkerSession, now: number, settings: TrustSettings = DEFAULT_TRUST): number {
  session.capacity = Math.max(1, Math.floor(session.capacity / 2));
  const cooldown = Math.min(settings.cooldownMaxMs, settings.cooldownBaseMs * 2 ** Math.min(session.setbacks, 30));
  session.setbacks++;
  session.cooldownUntil = Math.max(session.cooldownUntil, now + cooldown);
  return cooldown;
}

/** Worker ids whose trust is kept after they go offline (the oldest is forgotten first). */
const REMEMBERED_MAX = 10_000;

type Trust = Pick<WorkerSession, "capacity" | "cooldownUntil" | "setbacks" | "spotCheck">;

export class SessionRegistry {
  private readonly byId = new Map<string, WorkerSession>();
  private readonly remembered = new Map<string, Trust>();
  private readonly byModel = new Map<string, Set<WorkerSession>>();
  private turn = 0;

  constructor(
    readonly now: () => number = Date.now,
    readonly trust: TrustSettings = DEFAULT_TRUST,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  get(workerId: string): WorkerSession | undefined {
    return this.byId.get(workerId);
  }

  all(): IterableIterator<WorkerSession> {
    return this.byId.values();
  }

  add(session: WorkerSession): WorkerSession | undefined {
    const previous = this.byId.get(session.info.worker_id);
    if (previous) this.remove(previous);
    this.byId.set(session.info.worker_id, session);
    for (const model of session.info.models) {
      let set = this.byModel.get(model);
      if (!set) this.byModel.set(model, (set = new Set()));
      set.add(session);
    }
    return previous;
  }

  /**
   * The trust a new session for this id starts with: fresh, or what its live or last session
   * had (a cooldown runs on; capacity is not above the initial grant), so reconnecting never
   * resets a penalty.
   */
  trustFor(workerId: string, advertised: number): Trust {
    const fresh = initialTrust(advertised, this.trust);
    const before = this.byId.get(workerId) ?? this.remembered.get(workerId);
    if (!before) return fresh;
    // A failed spot check stays failed until one passes: reconnecting does not clear it.
    const spotCheck = before.spotCheck === "failed" ? "failed" : fresh.spotCheck;
    return { capacity: Math.min(fresh.capacity, before.capacity), cooldownUntil: before.cooldownUntil, setbacks: before.setbacks, spotCheck };
  }

  /** Keeps a departing session's trust for its next connection. */
  remember(session: WorkerSession): void {
    const id = session.info.worker_id;
    this.remembered.delete(id);
    this.remembered.set(id, { capacity: session.capacity, cooldownUntil: session.cooldownUntil, setbacks: session.setbacks, spotCheck: session.spotCheck });
    if (this.remembered.size > REMEMBERED_MAX) this.remembered.delete(this.remembered.keys().next().value as string);
  }

  remove(session: WorkerSession): boolean {
    if (this.byId.get(session.info.worker_id) !== session) return false;
    this.byId.delete(session.info.worker_id);
    for (const model of session.info.models) this.byModel.get(model)?.delete(session);
    return true;
  }

  /** The least-loaded eligible worker for a model (load against earned capacity); ties go round-robin. */
  pick(model: string, exclude: ReadonlySet<WorkerSession>): WorkerSession | undefined {
    const candidates = this.byModel.get(model);
    if (!candidates) return undefined;
    const now = this.now();
    let best: WorkerSession | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    const start = this.turn++ % Math.max(candidates.size, 1);
    const ordered = [...candidates];
    for (let k = 0; k < ordered.length; k++) {
      const session = ordered[(start + k) % ordered.length] as WorkerSession;
      if (exclude.has(session) || !isEligible(session, now)) continue;
      // A worker that failed its spot check gets a job only when no verified one can take it.
      const load = session.active / session.capacity + (session.spotCheck === "failed" ? 1 : 0);
      if (load < bestLoad) {
        best = session;
        bestLoad = load;
        if (load === 0) break;
      }
    }
    return best;
  }

  /** Every connected session that advertises the model, eligible now or not. */
  serving(model: string): WorkerSession[] {
    return [...(this.byModel.get(model) ?? [])];
  }

  modelsOnline(): string[] {
    return [...this.byModel.entries()].filter(([, set]) => set.size > 0).map(([model]) => model);
  }
}
