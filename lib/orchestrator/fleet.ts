/**
 * Live workers as the API sees them: on this instance (its session registry) and, when several
 * orchestrators share one database, on the others too (asked through the Socket.io adapter:
 * each worker's socket carries its presence in `socket.data`, which any instance can fetch).
 */
import type { Server } from "socket.io";
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

export interface LiveWorker {
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
  /** Connected to this instance (false: to another orchestrator on the same database). */
  local: boolean;
  /** The socket id, which the adapter can reach from any instance. */
  socketId: string;
}

/** What a worker's socket carries for the other instances to read. */
export interface SocketPresence {
  /** Never the token proof: socket data crosses to other instances through the database. */
  info: WorkerInfo;
  available: boolean;
  draining: boolean;
  active: number;
  capacity: number;
  cooldownUntil: number;
  unverified: boolean;
}

export interface Fleet {
  get(workerId: string): Promise<LiveWorker | undefined>;
  /** Every live worker on every instance (one per worker id). */
  all(): Promise<LiveWorker[]>;
  /** Live workers on other instances that serve this model (empty when not clustered). */
  remoteFor(model: string): Promise<LiveWorker[]>;
}

export function liveFromSession(session: WorkerSession): LiveWorker {
  return {
    info: session.info,
    available: session.available,
    draining: session.draining,
    active: session.active,
    capacity: session.capacity,
    cooldownUntil: session.cooldownUntil,
    unverified: session.spotCheck === "failed",
    local: true,
    socketId: session.socket.id,
  };
}

/** Rooms every worker socket joins, so the adapter can find it by id or by model. */
export const workerRoom = (workerId: string) => `worker:${workerId}`;
export const modelRoom = (model: string) => `model:${model}`;

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
 * Several orchestrators: local sessions first, then the other instances' sockets through the
 * adapter. A remote answer is a snapshot of that socket's presence at the moment it was asked.
 */
export function clusterFleet(registry: SessionRegistry, io: Server, timeoutMs: number): Fleet {
  const remote = async (room: string): Promise<LiveWorker[]> => {
    const sockets = await io.in(room).timeout(timeoutMs).fetchSockets();
    const found: LiveWorker[] = [];
    for (const socket of sockets) {
      const data = socket.data as Partial<SocketPresence>;
      // Local sockets come back too; the registry already answered for them.
      if (!data.info || io.sockets.sockets.has(socket.id)) continue;
      found.push({
        info: data.info,
        available: data.available ?? false,
        draining: data.draining ?? false,
        active: data.active ?? 0,
        capacity: data.capacity ?? 1,
        cooldownUntil: data.cooldownUntil ?? 0,
        unverified: data.unverified ?? false,
        local: false,
        socketId: socket.id,
      });
    }
    return found;
  };
  return {
    async get(workerId) {
      const session = registry.get(workerId);
      if (session) return liveFromSession(session);
      return (await remote(workerRoom(workerId)))[0];
    },
    async all() {
      const local = [...registry.all()].map(liveFromSession);
      const seen = new Set(local.map((worker) => worker.info.worker_id));
      const others = (await remote("workers")).filter((worker) => !seen.has(worker.info.worker_id) && (seen.add(worker.info.worker_id), true));
      return [...local, ...others];
    },
    remoteFor(model) {
      return remote(modelRoom(model));
    },
  };
}
