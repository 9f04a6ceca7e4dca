/**
 * The Socket.io side of the orchestrator: checks each worker's handshake (token, wallet binding,
 * protocol), keeps the session registry, and routes job events to the dispatch waiting on them.
 */
import type { ConsolaInstance } from "consola";
import type { Server, Socket } from "socket.io";
import {
  EVENTS,
  HandshakeSchema,
  JobChunkSchema,
  JobDoneSchema,
  JobFailSchema,
  PROTOCOL_VERSION,
  parsePayload,
  REFUSALS,
  WorkerStatusSchema,
} from "../core/protocol.ts";
import { isDevMode, type TokenPolicy, verifyWorkerToken } from "../core/token.ts";
import { modelRoom, type SocketPresence, workerRoom } from "./fleet.ts";
import type { SessionRegistry, WorkerSession } from "./sessions.ts";
import type { Store } from "./store.ts";

export interface GatewayOptions {
  io: Server;
  registry: SessionRegistry;
  store: Store;
  policy: TokenPolicy;
  log: ConsolaInstance;
  now: () => number;
  /** Called when a worker's session starts here (the cluster relay fails jobs it held elsewhere). */
  onSession?(session: WorkerSession): void;
}

/**
 * The worker's presence as other instances read it through the adapter: live getters over the
 * session, so a fetch always serializes the current values.
 */
function presenceData(session: WorkerSession): SocketPresence {
  return {
    get info() {
      return session.info;
    },
    get available() {
      return session.available;
    },
    get draining() {
      return session.draining;
    },
    get active() {
      return session.active;
    },
  };
}

function refuse(next: (err?: Error) => void, reason: string): void {
  next(new Error(reason));
}

export function attachWorkerGateway({ io, registry, store, policy, log, now, onSession }: GatewayOptions): void {
  const devMode = isDevMode(policy);
  // Socket activity is best effort: a failed touch must not take a session down.
  const touch = (workerId: string) => {
    store.touchWorker(workerId, now()).catch((error: unknown) => log.warn(`could not record activity of ${workerId}: ${error instanceof Error ? error.message : "unknown"}`));
  };

  io.use((socket, next) => {
    const auth = socket.handshake.auth as Record<string, unknown> | undefined;
    if (auth?.protocol !== PROTOCOL_VERSION) return refuse(next, REFUSALS.protocol);
    if (!auth.token) return refuse(next, REFUSALS.missingToken);
    const info = parsePayload(HandshakeSchema, auth);
    if (!info) return refuse(next, REFUSALS.malformed);
    verifyWorkerToken(policy, info.token, info.worker_wallet)
      .then(async (verdict) => {
        if (!verdict.ok) {
          log.warn(`refused worker ${info.worker_id}: ${verdict.reason}`);
          return refuse(next, verdict.reason);
        }
        const outcome = await store.registerWorker({
          worker_id: info.worker_id,
          worker_wallet: info.worker_wallet,
          runtime: info.runtime,
          models: info.models,
          at: now(),
        });
        if (!outcome.ok) {
          log.warn(`refused worker ${info.worker_id}: the id belongs to another wallet`);
          return refuse(next, REFUSALS.idTaken);
        }
        socket.data.info = info;
        next();
      })
      .catch(() => refuse(next, REFUSALS.malformed));
  });

  io.on("connection", (socket: Socket) => {
    const info = socket.data.info as WorkerSession["info"];
    const session: WorkerSession = {
      socket,
      info,
      connectedAt: now(),
      available: true,
      draining: false,
      active: 0,
      jobs: new Map(),
    };
    const replaced = registry.add(session);
    if (replaced) replaced.socket.disconnect(true);
    socket.data = presenceData(session);
    socket.join(["workers", workerRoom(info.worker_id), ...info.models.map(modelRoom)]);
    onSession?.(session);
    touch(info.worker_id);
    log.info(`worker ${info.worker_id} online (wallet ${info.worker_wallet}, ${info.runtime}, models ${info.models.join(",")}, capacity ${info.concurrency})`);
    socket.emit(EVENTS.welcome, { protocol: PROTOCOL_VERSION, worker_id: info.worker_id, dev_mode: devMode, payable: !devMode && info.runtime !== "echo" });

    socket.on(EVENTS.status, (payload: unknown) => {
      const status = parsePayload(WorkerStatusSchema, payload);
      if (!status) return;
      session.available = status.available;
      session.draining = status.draining;
      touch(info.worker_id);
    });
    socket.on(EVENTS.chunk, (payload: unknown) => {
      const chunk = parsePayload(JobChunkSchema, payload);
      if (chunk) session.jobs.get(chunk.job_id)?.onChunk(chunk.delta);
    });
    socket.on(EVENTS.done, (payload: unknown) => {
      const done = parsePayload(JobDoneSchema, payload);
      if (done) session.jobs.get(done.job_id)?.onDone(done);
    });
    socket.on(EVENTS.fail, (payload: unknown) => {
      const fail = parsePayload(JobFailSchema, payload);
      if (fail) session.jobs.get(fail.job_id)?.onFail(fail);
    });
    socket.on("disconnect", (reason) => {
      if (!registry.remove(session)) return;
      touch(info.worker_id);
      for (const [jobId, sink] of session.jobs) {
        sink.onFail({ job_id: jobId, code: "worker_disconnected", message: "The worker disconnected before finishing." });
      }
      log.info(`worker ${info.worker_id} offline (${reason})`);
    });
  });
}
