/**
 * Live workers as the API sees them: on this instance (its session registry) and, when several
 * orchestrators share one database, on the others too: each instance answers for its own
 * sessions when asked through the Socket.io adapter (cluster.ts), with a compact presence record.
 */
import type { Handshake } from "../core/protocol.ts";
import type { SessionRegistry, WorkerSession } from "./sessions.ts";

/**
 * A worker's handshake without its token proof: what may travel between instances (and so
 * through the database). The proof is bound to one connection, but credentials stay home.
 */
export type WorkerInfo = Omit<Handshake, "proof">;

export function publicInfo(info: Handshake): WorkerInfo {
  const { proof: _proof, ...rest } = info;
  return rest;
}

/** A worker's presence as one instance tells the others. */
export interface SharedPresence {
  /** Never the token proof: adapter messages pass through the database. */
  info: WorkerInfo;
  available: boolean;
  draining: boolean;
  active: number;
  /** Jobs it has earned the right to hold at once (sessions.ts). */
  capacity: number;
  /** Not routed jobs before this time (epoch ms). */
  cooldownUntil: number;
  /** Failed its last spot check: its jobs are not payable. */
  unverified: boolean;
}

export interface LiveWorker extends SharedPresence {
  /** Connected to this instance (false: to another orchestrator on the same database). */
  local: boolean;
}

/** Which workers a question to the other instances is about: one id, one model, or all. */
export interface PresenceQuery {
  worker_id?: string;
  model?: string;
}

export interface Fleet {
  get(workerId: string): Promise<LiveWorker | undefined>;
  /** Every live worker on every instance (one per worker id). */
  all(): Promise<LiveWorker[]>;
  /** Live workers on other instances that serve this model (empty when not clustered). */
  remoteFor(model: string): Promise<LiveWorker[]>;
}

export function sharedPresence(session: WorkerSession): SharedPresence {
  return {
    info: publicInfo(session.info),
    available: session.available,
    draining: session.draining,
    active: session.active,
    capacity: session.capacity,
    cooldownUntil: session.cooldownUntil,
    unverified: session.spotCheck === "failed",
  };
}

export function liveFromSession(session: WorkerSession): LiveWorker {
  return { ...sharedPresence(session), local: true };
}

/** This instance's answer to a presence question from another one. */
export function answerPresence(registry: SessionRegistry, query: PresenceQuery): SharedPresence[] {
  if (query.worker_id !== undefined) {
    const session = registry.get(query.worker_id);
    return session ? [sharedPresence(session)] : [];
  }
  const sessions = [...registry.all()];
  const model = query.model;
  return (model === undefined ? sessions : sessions.filter((session) => session.info.models.includes(model))).map(sharedPresence);
}

/** One orchestrator alone: its registry is the whole fleet. */
export function localFleet(registry: SessionRegistry): Fleet {
  return {
    async get(workerId) {
      const session = registry.get(workerId);
      return session ? liveFromSession(session) : undefined;
    },
    async all() {
      return [...registry.all()].map(liveFromSession);
    },
    async remoteFor() {
      return [];
    },
  };
}

/**
 * Several orchestrators: local sessions first, then what the other instances say of theirs
 * (`askOthers`, through the adapter). A remote answer is a snapshot taken when it was asked.
 */
export function clusterFleet(registry: SessionRegistry, askOthers: (query: PresenceQuery) => Promise<SharedPresence[]>): Fleet {
  const remote = async (query: PresenceQuery): Promise<LiveWorker[]> =>
    (await askOthers(query)).filter((presence) => registry.get(presence.info.worker_id) === undefined).map((presence) => ({ ...presence, local: false }));
  return {
    async get(workerId) {
      const session = registry.get(workerId);
      if (session) return liveFromSession(session);
      return (await remote({ worker_id: workerId }))[0];
    },
    async all() {
      const local = [...registry.all()].map(liveFromSession);
      const seen = new Set(local.map((worker) => worker.info.worker_id));
      const others = (await remote({})).filter((worker) => !seen.has(worker.info.worker_id) && (seen.add(worker.info.worker_id), true));
      return [...local, ...others];
    },
    remoteFor(model) {
      return remote({ model });
    },
  };
}
