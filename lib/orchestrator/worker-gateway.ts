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
import { judgeStanding } from "../core/anti-cheat.ts";
import { isDevMode, type TokenPolicy, verifyWorkerToken } from "../core/token.ts";
import type { SessionRegistry, WorkerSession } from "./sessions.ts";
import type { Store } from "./store.ts";

export interface GatewayOptions {
  io: Server;
  registry: SessionRegistry;
  store: Store;
  policy: TokenPolicy;
  log: ConsolaInstance;
  now: () => number;
}

function refuse(next: (err?: Error) => void, reason: string): void {
  next(new Error(reason));
}

export function attachWorkerGateway({ io, registry, store, policy, log, now }: GatewayOptions): void {
  const devMode = isDevMode(policy);

  io.use((socket, next) => {
    const auth = socket.handshake.auth as Record<string, unknown> | undefined;
    if (auth?.protocol !== PROTOCOL_VERSION) return refuse(next, REFUSALS.protocol);
    if (!auth.token) return refuse(next, REFUSALS.missingToken);
    const info = parsePayload(HandshakeSchema, auth);
    if (!info) return refuse(next, REFUSALS.malformed);
    verifyWorkerToken(policy, info.token, info.worker_wallet)
      .then((verdict) => {
        if (!verdict.ok) {
          log.warn(`refused worker ${info.worker_id}: ${verdict.reason}`);
          return refuse(next, verdict.reason);
        }
        const outcome = store.registerWorker({
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
    store.touchWorker(info.worker_id, now());
    log.info(`worker ${info.worker_id} online (wallet ${info.worker_wallet}, ${info.runtime}, models ${info.models.join(",")}, capacity ${info.concurrency})`);
    socket.emit(EVENTS.welcome, { protocol: PROTOCOL_VERSION, worker_id: info.worker_id, dev_mode: devMode, payable: judgeStanding({ runtime: info.runtime, devMode }).payable });

    socket.on(EVENTS.status, (payload: unknown) => {
      const status = parsePayload(WorkerStatusSchema, payload);
      if (!status) return;
      session.available = status.available;
      session.draining = status.draining;
      store.touchWorker(info.worker_id, now());
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
      store.touchWorker(info.worker_id, now());
      for (const [jobId, sink] of session.jobs) {
        sink.onFail({ job_id: jobId, code: "worker_disconnected", message: "The worker disconnected before finishing." });
      }
      log.info(`worker ${info.worker_id} offline (${reason})`);
    });
  });
}
