/**
 * The Socket.io side of the orchestrator: checks each worker's handshake (token, wallet binding,
 * protocol), keeps the session registry, and routes job events to the dispatch waiting on them.
 * Nothing a worker sends can take the process down: every handler runs inside one guard, every
 * payload is checked against its bounded schema, and each connection has an event budget
 * (docs/PROTOCOL.md, "Bounds" and "Limits per connection").
 */
import type { ConsolaInstance } from "consola";
import type { Server, Socket } from "socket.io";
import type * as v from "valibot";
import {
  EVENTS,
  HandshakeSchema,
  JobChunkSchema,
  JobDoneSchema,
  JobFailSchema,
  JobStartedSchema,
  PROTOCOL_VERSION,
  parsePayload,
  REFUSALS,
  WorkerStatusSchema,
} from "../core/protocol.ts";
import { judgeStanding } from "../core/anti-cheat.ts";
import { isDevMode, type TokenPolicy, verifyHandshakeProof } from "../core/token.ts";
import { DEFAULT_EVENT_LIMITS, type EventLimits, EventLimiter } from "./event-limiter.ts";
import { recordSetback, type SessionRegistry, type WorkerSession } from "./sessions.ts";
import type { Store } from "./store.ts";

/** Payloads that fail their schema without naming a live job; past this many the connection ends. */
export const MAX_PROTOCOL_VIOLATIONS = 20;
/** `worker:status` moves last_seen_at in the store at most this often per connection. */
const STATUS_WRITE_INTERVAL_MS = 1_000;

export interface GatewayOptions {
  io: Server;
  registry: SessionRegistry;
  store: Store;
  policy: TokenPolicy;
  log: ConsolaInstance;
  now: () => number;
  limits?: EventLimits;
  /** Called when a worker's session starts here (the cluster relay fails jobs it held elsewhere). */
  onSession?(session: WorkerSession): void;
  /** A worker came online or changed its availability: requests queued for its models may go. */
  onCapacity?(models: readonly string[]): void;
}

function refuse(next: (err?: Error) => void, reason: string): void {
  next(new Error(reason));
}

/** The job a payload names, if it names one as a string (read before any schema check). */
function namedJob(payload: unknown): string | undefined {
  if (typeof payload !== "object" || payload === null) return undefined;
  const id = (payload as { job_id?: unknown }).job_id;
  return typeof id === "string" && id.length <= 64 ? id : undefined;
}

/** Fails every job in flight on a session at once (502, not payable). */
export function failSessionJobs(session: WorkerSession, reason: string, message: string): void {
  for (const sink of [...session.jobs.values()]) sink.abort(reason, message);
}

export function attachWorkerGateway({ io, registry, store, policy, log, now, limits = DEFAULT_EVENT_LIMITS, onSession, onCapacity }: GatewayOptions): void {
  const devMode = isDevMode(policy);
  // Socket activity is best effort: a failed touch must not take a session down.
  // Socket activity is best effort, and a store that fails is not the worker's fault: logged only.
  const touch = (workerId: string) => {
    const failed = (error: unknown) => log.warn(`could not record activity of ${workerId}: ${error instanceof Error ? error.message : "unknown"}`);
    try {
      store.touchWorker(workerId, now()).catch(failed);
    } catch (error) {
      failed(error);
    }
  };

  io.use((socket, next) => {
    const auth = socket.handshake.auth as Record<string, unknown> | undefined;
    if (auth?.protocol !== PROTOCOL_VERSION) return refuse(next, REFUSALS.protocol);
    if (!auth.proof) return refuse(next, auth.token ? REFUSALS.tokenInClear : REFUSALS.missingToken);
    const info = parsePayload(HandshakeSchema, auth);
    if (!info) return refuse(next, REFUSALS.malformed);
    // The challenge is this connection's engine id: a proof made for another connection fails here.
    verifyHandshakeProof(policy, info.proof, (socket.conn as unknown as { id: string }).id, info.worker_id, info.worker_wallet)
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
    // The guard covers the session's start too: an error here ends this connection, not the process.
    try {
      startSession(socket);
    } catch (error) {
      log.error(`worker connection failed: ${error instanceof Error ? error.message : "unknown error"}`);
      socket.disconnect(true);
    }
  });

  function startSession(socket: Socket): void {
    const info = socket.data.info as WorkerSession["info"];
    const session: WorkerSession = {
      socket,
      info,
      connectedAt: now(),
      available: true,
      draining: false,
      active: 0,
      jobs: new Map(),
      ...registry.trustFor(info.worker_id, info.concurrency),
    };
    const replaced = registry.add(session);
    if (replaced) {
      // Its clients must not wait for a job timeout: the old connection cannot answer them now.
      failSessionJobs(replaced, "session_replaced", "A newer connection took over this worker id.");
      replaced.socket.disconnect(true);
    }
    onSession?.(session);
    onCapacity?.(info.models);
    touch(info.worker_id);
    log.info(`worker ${info.worker_id} online (wallet ${info.worker_wallet}, ${info.runtime}, models ${info.models.join(",")}, capacity ${session.capacity} of ${info.concurrency})`);
    socket.emit(EVENTS.welcome, { protocol: PROTOCOL_VERSION, worker_id: info.worker_id, dev_mode: devMode, payable: judgeStanding({ runtime: info.runtime, devMode }).payable });

    const limiter = new EventLimiter(limits, now());
    let violations = 0;
    let throttledLogged = false;
    let lastStatusWrite = 0;
    let ended = false;

    const end = (reason: string) => {
      if (ended) return;
      ended = true;
      log.warn(`disconnecting worker ${info.worker_id}: ${reason}`);
      failSessionJobs(session, reason, `The orchestrator ended this worker's connection (${reason}).`);
      socket.disconnect(true);
    };

    /** A payload that failed its schema: fails the job it names, else counts as a violation. */
    const malformed = (event: string, payload: unknown) => {
      const sink = session.jobs.get(namedJob(payload) ?? "");
      if (sink) return sink.abort("invalid_payload", `The worker sent a ${event} that fails its schema.`);
      recordSetback(session, now(), registry.trust);
      if (++violations > MAX_PROTOCOL_VIOLATIONS) end("protocol_violations");
    };

    /** Every worker event goes through here: the budget, the schema, and one guard. */
    /**
     * Events that start or end a job this orchestrator assigned are outside the budget: there is
     * one of each per job, so they cannot flood, and a dropped job:done or job:fail would leave
     * its client waiting for the job timeout. A fast honest worker (an echo job takes a
     * millisecond) sends them faster than any per-job rate allows.
     */
    const startedSeen = new Set<string>();
    const outsideBudget = (event: string, payload: unknown): boolean => {
      if (event !== EVENTS.started && event !== EVENTS.done && event !== EVENTS.fail) return false;
      const jobId = namedJob(payload);
      if (jobId === undefined || !session.jobs.has(jobId)) return false;
      if (event !== EVENTS.started) return true;
      if (startedSeen.has(jobId)) return false;
      if (startedSeen.size >= 2 * info.concurrency) for (const id of startedSeen) if (!session.jobs.has(id)) startedSeen.delete(id);
      startedSeen.add(jobId);
      return true;
    };

    const on = <const S extends v.GenericSchema>(event: string, schema: S, handle: (payload: v.InferOutput<S>) => void) => {
      socket.on(event, (payload: unknown) => {
        if (ended) return;
        try {
          const admission = outsideBudget(event, payload) ? "ok" : limiter.admit(now(), session.jobs.size);
          if (admission === "disconnect") return end("event_flood");
          if (admission === "throttled") {
            if (!throttledLogged) log.warn(`throttling worker ${info.worker_id}: events faster than its ${session.jobs.size} live job(s) explain`);
            throttledLogged = true;
            return;
          }
          const parsed = parsePayload(schema, payload);
          if (parsed === undefined) return malformed(event, payload);
          handle(parsed);
        } catch (error) {
          log.error(`worker ${info.worker_id}: ${event} handler failed: ${error instanceof Error ? error.message : "unknown error"}`);
          try {
            const sink = session.jobs.get(namedJob(payload) ?? "");
            if (sink) sink.abort("internal_error", "The orchestrator could not handle this worker's event.");
            else recordSetback(session, now(), registry.trust);
          } catch {
            // The guard itself never throws: the process stays up.
          }
        }
      });
    };

    on(EVENTS.status, WorkerStatusSchema, (status) => {
      session.available = status.available;
      session.draining = status.draining;
      onCapacity?.(info.models);
      const at = now();
      // One store write per interval, however often a worker reports.
      if (at - lastStatusWrite >= STATUS_WRITE_INTERVAL_MS) {
        lastStatusWrite = at;
        touch(info.worker_id);
      }
    });
    on(EVENTS.started, JobStartedSchema, (started) => session.jobs.get(started.job_id)?.onFirstToken());
    on(EVENTS.chunk, JobChunkSchema, (chunk) => session.jobs.get(chunk.job_id)?.onChunk(chunk));
    on(EVENTS.done, JobDoneSchema, (done) => session.jobs.get(done.job_id)?.onDone(done));
    on(EVENTS.fail, JobFailSchema, (fail) => session.jobs.get(fail.job_id)?.onFail(fail));
    socket.on("disconnect", (reason) => {
      try {
        if (!registry.remove(session)) return;
        touch(info.worker_id);
        for (const [jobId, sink] of [...session.jobs]) {
          sink.onFail({ job_id: jobId, code: "worker_disconnected", message: "The worker disconnected before finishing." });
        }
        // A reconnect does not wash away a cooldown or earned-capacity cut.
        registry.remember(session);
        log.info(`worker ${info.worker_id} offline (${reason})`);
      } catch (error) {
        log.error(`worker ${info.worker_id}: disconnect handling failed: ${error instanceof Error ? error.message : "unknown error"}`);
      }
    });
  }
}
