/**
 * Several orchestrators on one PostgreSQL database (docs/SCALING.md). The Socket.io postgres
 * adapter joins their Socket.io servers: a worker connected to any instance is visible to all
 * (each instance answers presence questions for its own sessions), and a job that arrives at one instance for a
 * worker connected to another is routed to the owning instance, which offers it to the worker
 * and forwards the worker's events back, numbered so they are delivered in order. The adapter's
 * heartbeat notices a dead instance; the jobs relayed to it fail cleanly.
 */
import type { ConsolaInstance } from "consola";
import { createAdapter } from "@socket.io/postgres-adapter";
import pg from "pg";
import type { Server } from "socket.io";
import { EVENTS, type JobAck, type JobChunk, type JobDone, type JobFail } from "../core/protocol.ts";
import { type AssignPayload, type JobTarget, offerToSocket, type Relay } from "./dispatch.ts";
import { answerPresence, clusterFleet, type Fleet, type LiveWorker, type PresenceQuery, type SharedPresence } from "./fleet.ts";
import { isEligible, type JobSink, recordCompletion, recordSetback, type SessionRegistry, type WorkerSession } from "./sessions.ts";

/** How often an instance says it is alive, and how long silence means it is gone. */
export const HEARTBEAT_INTERVAL_MS = 1_000;
export const HEARTBEAT_TIMEOUT_MS = 3_000;

export interface ClusterOptions {
  io: Server;
  registry: SessionRegistry;
  databaseUrl: string;
  log: ConsolaInstance;
  /** How long a presence question to the other instances may take (a dead one is dropped sooner). */
  requestTimeoutMs?: number;
}

export interface Cluster {
  /** This instance's id in the adapter. */
  readonly instanceId: string;
  fleet: Fleet;
  relay: Relay;
  /** A worker's session started here: jobs other instances relayed to its old connection fail now. */
  onSession(session: WorkerSession): void;
  /** How many orchestrators the adapter sees, this one included. */
  instances(): Promise<number>;
  close(): Promise<void>;
}

type JobEventKind = "started" | "chunk" | "done" | "fail" | "abort";

interface AssignMessage {
  origin: string;
  worker_id: string;
  payload: AssignPayload;
}

interface AssignAnswer {
  instance: string;
  ack: JobAck;
}

interface JobEvent {
  origin: string;
  job_id: string;
  seq: number;
  kind: JobEventKind;
  body: unknown;
}

/** A job this instance sent to a worker on another one. */
interface OutboundJob {
  workerId: string;
  owner: string | undefined;
  sink: JobSink | undefined;
  next: number;
  buffer: Map<number, JobEvent>;
}

const EV = {
  assign: "basis:assign",
  job: "basis:job",
  cancel: "basis:cancel",
  moved: "basis:moved",
  presence: "basis:presence",
} as const;

/** Cancel reasons from the origin that count against the worker on its owner (docs/PROTOCOL.md). */
const SETBACK_REASONS = new Set(["timeout", "no_first_token", "text_over_cap", "invalid_payload", "stream_mismatch", "usage_inconsistent"]);

function deliver(sink: JobSink, event: JobEvent): void {
  if (event.kind === "started") sink.onFirstToken();
  else if (event.kind === "chunk") sink.onChunk(event.body as JobChunk);
  else if (event.kind === "done") sink.onDone(event.body as JobDone);
  else if (event.kind === "abort") {
    const { reason, message } = event.body as { reason: string; message: string };
    sink.abort(reason, message);
  } else sink.onFail(event.body as JobFail);
}

export async function joinCluster(options: ClusterOptions): Promise<Cluster> {
  const { io, registry, log } = options;
  const requestTimeoutMs = options.requestTimeoutMs ?? HEARTBEAT_TIMEOUT_MS + 2_000;
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 4 });
  // The driver's errors may quote the URL: log what failed, never the message.
  const onError = (error: unknown) => log.warn(`cluster adapter: ${(error as { code?: string }).code ?? "database error"}`);
  pool.on("error", onError);
  io.adapter(
    createAdapter(pool, { heartbeatInterval: HEARTBEAT_INTERVAL_MS, heartbeatTimeout: HEARTBEAT_TIMEOUT_MS, errorHandler: onError }) as never,
  );
  const adapter = io.of("/").adapter as unknown as { uid: string; nodesMap: Map<string, number>; serverCount(): Promise<number> };
  const self = adapter.uid;
  // Presence: each instance answers for its own sessions. A dead instance that the adapter has
  // not dropped yet delays the answer until it is (HEARTBEAT_TIMEOUT_MS); the replies that came
  // are used either way, so an API read never fails for one lost instance.
  io.on(EV.presence, (query: PresenceQuery, answer: (reply: SharedPresence[]) => void) => answer(answerPresence(registry, query)));
  const askOthers = (query: PresenceQuery): Promise<SharedPresence[]> =>
    new Promise((resolve) => {
      io.serverSideEmit(EV.presence, query, (_error: Error | null, replies: (SharedPresence[] | null)[]) => {
        resolve((replies ?? []).flatMap((reply) => (Array.isArray(reply) ? reply : [])));
      });
    });
  const fleet = clusterFleet(registry, askOthers);

  const outbound = new Map<string, OutboundJob>();
  const inbound = new Map<string, { session: WorkerSession; origin: string }>();

  const failOutbound = (jobId: string, job: OutboundJob, message: string) => {
    outbound.delete(jobId);
    job.sink?.onFail({ job_id: jobId, code: "worker_disconnected", message });
  };

  // Owner side: a job for one of this instance's workers, sent by another instance.
  io.on(EV.assign, async (message: AssignMessage, answer: (reply: AssignAnswer | null) => void) => {
    const session = registry.get(message.worker_id);
    if (!session) return answer(null);
    const { job_id: jobId } = message.payload;
    if (!isEligible(session, registry.now())) {
      return answer({ instance: self, ack: { accepted: false, reason: "over_capacity" } });
    }
    session.active++;
    const ack = await offerToSocket(session, message.payload, requestTimeoutMs, () => recordSetback(session, registry.now(), registry.trust));
    if (!ack.accepted) {
      session.active--;
      if (ack.reason === "draining") session.draining = true;
      return answer({ instance: self, ack });
    }
    let seq = 0;
    const forward = (kind: JobEventKind, body: unknown) => {
      const event: JobEvent = { origin: message.origin, job_id: jobId, seq: seq++, kind, body };
      io.serverSideEmit(EV.job, event);
    };
    const release = () => {
      inbound.delete(jobId);
      session.jobs.delete(jobId);
      session.active = Math.max(0, session.active - 1);
    };
    inbound.set(jobId, { session, origin: message.origin });
    session.jobs.set(jobId, {
      onFirstToken: () => forward("started", null),
      onChunk: (delta) => forward("chunk", delta),
      onDone(done) {
        release();
        recordCompletion(session);
        forward("done", done);
      },
      onFail(fail) {
        release();
        recordSetback(session, registry.now(), registry.trust);
        forward("fail", fail);
      },
      // The gateway ended it (bad payload, flood, replaced session): the origin fails it the same way.
      abort(reason, message) {
        release();
        recordSetback(session, registry.now(), registry.trust);
        forward("abort", { reason, message });
      },
    });
    answer({ instance: self, ack });
  });

  /** Stops a job this instance runs for another one: the slot is freed and the worker told. */
  const cancelInbound = (jobId: string, reason: string) => {
    const job = inbound.get(jobId);
    if (!job) return undefined;
    inbound.delete(jobId);
    job.session.jobs.delete(jobId);
    job.session.active = Math.max(0, job.session.active - 1);
    job.session.socket.emit(EVENTS.cancel, { job_id: jobId, reason });
    return job;
  };

  io.on(EV.cancel, (message: { job_id: string; instance: string; reason: string }) => {
    if (message.instance !== self) return;
    const job = cancelInbound(message.job_id, message.reason);
    if (job && SETBACK_REASONS.has(message.reason)) recordSetback(job.session, registry.now(), registry.trust);
  });

  // Origin side: the worker's events, forwarded by the owner, delivered in the order sent.
  io.on(EV.job, (event: JobEvent) => {
    if (event.origin !== self) return;
    const job = outbound.get(event.job_id);
    if (!job) return;
    job.buffer.set(event.seq, event);
    drain(event.job_id, job);
  });

  const drain = (jobId: string, job: OutboundJob) => {
    if (!job.sink) return;
    for (let event = job.buffer.get(job.next); event; event = job.buffer.get(job.next)) {
      job.buffer.delete(job.next++);
      if (event.kind !== "chunk" && event.kind !== "started") outbound.delete(jobId);
      deliver(job.sink, event);
    }
  };

  const workerMoved = (workerId: string, instance: string) => {
    for (const [jobId, job] of outbound) {
      if (job.workerId === workerId && job.owner !== undefined && job.owner !== instance) {
        failOutbound(jobId, job, "The worker reconnected to another orchestrator; the job it was running is lost.");
      }
    }
  };
  io.on(EV.moved, (message: { worker_id: string; instance: string }) => workerMoved(message.worker_id, message.instance));

  // A dead owner never answers: once the adapter drops it, its relayed jobs fail.
  const watchdog = setInterval(() => {
    for (const [jobId, job] of outbound) {
      if (job.owner !== undefined && !adapter.nodesMap.has(job.owner)) {
        failOutbound(jobId, job, "The orchestrator holding the worker's connection stopped.");
      }
    }
    // The other way round: the instance whose client waits for this job is gone, so nobody can
    // take its answer; the worker is told to stop rather than run it to the end.
    for (const [jobId, job] of inbound) if (!adapter.nodesMap.has(job.origin)) cancelInbound(jobId, "client_gone");
  }, 500);
  watchdog.unref?.();

  const askOwner = (message: AssignMessage): Promise<AssignAnswer | undefined> =>
    new Promise((resolve) => {
      io.serverSideEmit(EV.assign, message, (_error: Error | null, replies: (AssignAnswer | null)[]) => {
        // On a timeout the replies that did come are still good.
        resolve((replies ?? []).find((reply): reply is AssignAnswer => reply !== null && reply !== undefined));
      });
    });

  const relay: Relay = {
    async candidates(model, workerId) {
      let found: LiveWorker[];
      try {
        if (workerId !== undefined) {
          const worker = await fleet.get(workerId);
          found = worker && !worker.local && worker.info.models.includes(model) ? [worker] : [];
        } else {
          found = await fleet.remoteFor(model);
        }
      } catch (error) {
        onError(error);
        return [];
      }
      const now = registry.now();
      const rank = (worker: LiveWorker) => (isEligible(worker, now) ? worker.active / worker.capacity : Number.POSITIVE_INFINITY);
      return found.sort((a, b) => rank(a) - rank(b));
    },
    async offerJob(worker, payload) {
      const jobId = payload.job_id;
      // Registered before asking, so events that overtake the answer wait in the buffer.
      const job: OutboundJob = { workerId: worker.info.worker_id, owner: undefined, sink: undefined, next: 0, buffer: new Map() };
      outbound.set(jobId, job);
      const reply = await askOwner({ origin: self, worker_id: worker.info.worker_id, payload });
      if (!reply?.ack.accepted) {
        outbound.delete(jobId);
        return { ack: reply?.ack ?? { accepted: false, reason: "unavailable" } };
      }
      job.owner = reply.instance;
      const target: JobTarget = {
        info: worker.info,
        unverified: () => worker.unverified,
        attach(id, sink) {
          job.sink = sink;
          drain(id, job);
        },
        detach: (id) => void outbound.delete(id),
        cancel: (id, reason) => void io.serverSideEmit(EV.cancel, { job_id: id, instance: reply.instance, reason }),
        // The owner applies setbacks: through the cancel reason, or its own view of a failure.
        setback: () => undefined,
        completed: () => undefined,
      };
      return { ack: reply.ack, target };
    },
  };

  return {
    instanceId: self,
    fleet,
    relay,
    onSession(session) {
      workerMoved(session.info.worker_id, self);
      io.serverSideEmit(EV.moved, { worker_id: session.info.worker_id, instance: self });
    },
    instances: () => adapter.serverCount(),
    async close() {
      clearInterval(watchdog);
      for (const [jobId, job] of outbound) failOutbound(jobId, job, "This orchestrator is stopping.");
      await pool.end();
    },
  };
}
