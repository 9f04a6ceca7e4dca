/**
 * Live worker connections: who is online, what they serve, how loaded they are, and the jobs
 * in flight on each. Socket events from a worker are matched only against that worker's jobs.
 */
import type { Socket } from "socket.io";
import type { Handshake, JobChunk, JobDone, JobFail } from "../core/protocol.ts";

export interface JobSink {
  onChunk(chunk: JobChunk): void;
  onDone(done: JobDone): void;
  onFail(fail: JobFail): void;
}

export interface WorkerSession {
  socket: Socket;
  info: Handshake;
  connectedAt: number;
  available: boolean;
  draining: boolean;
  active: number;
  jobs: Map<string, JobSink>;
}

export class SessionRegistry {
  private readonly byId = new Map<string, WorkerSession>();
  private readonly byModel = new Map<string, Set<WorkerSession>>();
  private turn = 0;

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

  remove(session: WorkerSession): boolean {
    if (this.byId.get(session.info.worker_id) !== session) return false;
    this.byId.delete(session.info.worker_id);
    for (const model of session.info.models) this.byModel.get(model)?.delete(session);
    return true;
  }

  /** The least-loaded eligible worker for a model; ties go round-robin. */
  pick(model: string, exclude: ReadonlySet<WorkerSession>): WorkerSession | undefined {
    const candidates = this.byModel.get(model);
    if (!candidates) return undefined;
    let best: WorkerSession | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    const start = this.turn++ % Math.max(candidates.size, 1);
    const ordered = [...candidates];
    for (let k = 0; k < ordered.length; k++) {
      const session = ordered[(start + k) % ordered.length] as WorkerSession;
      if (exclude.has(session) || !session.available || session.draining) continue;
      if (session.active >= session.info.concurrency) continue;
      const load = session.active / session.info.concurrency;
      if (load < bestLoad) {
        best = session;
        bestLoad = load;
        if (load === 0) break;
      }
    }
    return best;
  }

  modelsOnline(): string[] {
    return [...this.byModel.entries()].filter(([, set]) => set.size > 0).map(([model]) => model);
  }
}
