/**
 * Sends one inference request to one worker and waits for its answer. Exactly one worker
 * serves a job; a worker that refuses (full, draining, backend down) is skipped for another.
 */
import { randomBytes } from "node:crypto";
import { judgeJob, type JobVerdict } from "../core/anti-cheat.ts";
import { EVENTS, type Handshake, type InferenceRequest, type JobAck, JobAckSchema, type JobDone, parsePayload } from "../core/protocol.ts";
import { logSafe, publicFailure } from "../core/worker-failure.ts";
import type { LiveWorker } from "./fleet.ts";
import { HttpError } from "./http.ts";
import { ledgerEntryFor } from "./rewards.ts";
import type { JobSink, SessionRegistry, WorkerSession } from "./sessions.ts";
import type { JobRecord, Store } from "./store.ts";

export interface DispatchDeps {
  registry: SessionRegistry;
  store: Store;
  devMode: boolean;
  now: () => number;
  jobTimeoutMs: number;
  ackTimeoutMs: number;
  /** Where a worker's own failure text goes; clients get only `publicFailure`'s fixed messages. */
  log?: { warn(message: string): void };
  /** Set when several orchestrators share one database: workers on the others can serve too. */
  relay?: Relay | undefined;
}

/** The worker a job went to, wherever it is connected. */
export interface ServingWorker {
  info: Handshake;
}

/** Where a job's events come from and its cancel goes to: a local socket or another instance. */
export interface JobTarget extends ServingWorker {
  attach(jobId: string, sink: JobSink): void;
  /** Forgets the job and frees its slot. */
  detach(jobId: string): void;
  cancel(jobId: string, reason: string): void;
}

/** Cross-instance dispatch (cluster.ts): offers a job to a worker connected to another orchestrator. */
export interface Relay {
  /** Live workers on other instances that could take a job for this model (or this worker id). */
  candidates(model: string, workerId: string | undefined): Promise<LiveWorker[]>;
  /** Offers the job; on acceptance, a target whose events arrive from the owning instance. */
  offer(worker: LiveWorker, payload: AssignPayload, timeoutMs: number): Promise<{ ack: JobAck; target?: JobTarget }>;
}

export interface AssignPayload {
  job_id: string;
  request: InferenceRequest;
  timeout_ms: number;
  stream: boolean;
}

export interface DispatchHooks {
  /** Called once a worker has accepted the job, before any text. */
  onAccepted?(worker: ServingWorker, jobId: string): void;
  onChunk?(delta: string): void;
  /** Aborted when the HTTP client goes away: the job is cancelled on the worker. */
  signal?: AbortSignal;
  /** Send the job to this worker only (the canary tests one worker); no other is tried. */
  workerId?: string;
  /** Record the job as not payable for this reason (a canary job is the network's own test). */
  unpaidReason?: string;
}

export interface DispatchResult {
  jobId: string;
  session: ServingWorker;
  done: JobDone;
  verdict: JobVerdict;
  latencyMs: number;
}

export function newJobId(): string {
  return `job_${randomBytes(12).toString("hex")}`;
}

/** Offers a job to a local worker's socket and waits for its ack. */
export async function offerToSocket(session: WorkerSession, payload: AssignPayload, timeoutMs: number): Promise<JobAck> {
  try {
    const answer: unknown = await session.socket.timeout(timeoutMs).emitWithAck(EVENTS.assign, payload);
    return parsePayload(JobAckSchema, answer) ?? { accepted: false, reason: "invalid" };
  } catch {
    return { accepted: false, reason: "unavailable" };
  }
}

export function localTarget(session: WorkerSession): JobTarget {
  return {
    info: session.info,
    attach: (jobId, sink) => session.jobs.set(jobId, sink),
    detach(jobId) {
      session.jobs.delete(jobId);
      session.active = Math.max(0, session.active - 1);
    },
    cancel: (jobId, reason) => session.socket.emit(EVENTS.cancel, { job_id: jobId, reason }),
  };
}

function unavailable(model: string, workerId: string | undefined): HttpError {
  if (workerId !== undefined) {
    return new HttpError(503, "worker_unavailable", `Worker ${workerId} is not connected, not serving ${model}, or busy.`);
  }
  return new HttpError(503, "no_worker_available", `No idle online worker serves ${model}.`);
}

export async function dispatchJob(deps: DispatchDeps, request: InferenceRequest, hooks: DispatchHooks = {}): Promise<DispatchResult> {
  const jobId = newJobId();
  const tried = new Set<WorkerSession>();
  const triedIds = new Set<string>();
  // Chunks cross the socket only when someone reads them as they come.
  const stream = hooks.onChunk !== undefined;
  const payload: AssignPayload = { job_id: jobId, request, timeout_ms: deps.jobTimeoutMs, stream };
  // Workers on this instance first: a job relayed to another instance costs a round trip through the database.
  for (;;) {
    const session = pickSession(deps.registry, request.model, tried, hooks.workerId);
    if (!session) break;
    tried.add(session);
    triedIds.add(session.info.worker_id);
    // Count the slot before the ack so concurrent dispatches do not all pick the same worker.
    session.active++;
    const ack = await offerToSocket(session, payload, deps.ackTimeoutMs);
    if (!ack.accepted) {
      session.active--;
      if (ack.reason === "draining") session.draining = true;
      continue;
    }
    return await awaitResult(deps, localTarget(session), jobId, request, hooks);
  }
  if (deps.relay) {
    const candidates = (await deps.relay.candidates(request.model, hooks.workerId)).filter((worker) => !triedIds.has(worker.info.worker_id));
    for (const worker of candidates) {
      const { ack, target } = await deps.relay.offer(worker, payload, deps.ackTimeoutMs);
      if (ack.accepted && target) return await awaitResult(deps, target, jobId, request, hooks);
    }
  }
  throw unavailable(request.model, hooks.workerId);
}

function pickSession(registry: SessionRegistry, model: string, tried: ReadonlySet<WorkerSession>, workerId: string | undefined) {
  if (workerId === undefined) return registry.pick(model, tried);
  const session = registry.get(workerId);
  return session && !tried.has(session) && session.info.models.includes(model) ? session : undefined;
}

function awaitResult(
  deps: DispatchDeps,
  target: JobTarget,
  jobId: string,
  request: InferenceRequest,
  hooks: DispatchHooks,
): Promise<DispatchResult> {
  const started = deps.now();
  hooks.onAccepted?.(target, jobId);
  const { info } = target;
  return new Promise<DispatchResult>((resolve, reject) => {
    let streamed = "";
    let settled = false;

    /**
     * Ends the job exactly once: frees the slot, writes the job and its ledger line, and only
     * once that is committed lets the answer go, so no answer leaves before its record is durable.
     * Every routed job gets its line; the verdict's reasons say why one pays 0.
     */
    const settle = (status: "completed" | "failed", tokens: [number, number], verdict: JobVerdict, outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      hooks.signal?.removeEventListener("abort", onAbort);
      target.detach(jobId);
      const job: JobRecord = {
        job_id: jobId,
        worker_id: info.worker_id,
        worker_wallet: info.worker_wallet,
        model: request.model,
        status,
        prompt_tokens: tokens[0],
        completion_tokens: tokens[1],
        latency_ms: deps.now() - started,
        payable: verdict.payable && hooks.unpaidReason === undefined,
        created_at: deps.now(),
      };
      const reasons = [...verdict.reasons, ...(hooks.unpaidReason ? [hooks.unpaidReason] : [])];
      deps.store.recordJob(job, ledgerEntryFor(job, reasons)).then(outcome, (error: unknown) => {
        deps.log?.warn(`job ${jobId} could not be recorded: ${logSafe(error instanceof Error ? error.message : String(error))}`);
        reject(new HttpError(503, "not_recorded", "The job ended but could not be recorded; it is not billed. Try again."));
      });
    };
    const failed = (reason: string): JobVerdict => ({ payable: false, reasons: [reason] });

    // The client went away: the job is cancelled on the worker and still gets its ledger line.
    const onAbort = () => {
      target.cancel(jobId, "client_gone");
      settle("failed", [0, 0], failed("client_gone"), () => reject(new HttpError(499, "client_closed")));
    };
    const timer = setTimeout(() => {
      target.cancel(jobId, "timeout");
      settle("failed", [0, 0], failed("timeout"), () =>
        reject(new HttpError(504, "worker_timeout", `The worker did not finish within ${deps.jobTimeoutMs} ms.`)),
      );
    }, deps.jobTimeoutMs);

    target.attach(jobId, {
      onChunk(delta) {
        streamed += delta;
        hooks.onChunk?.(delta);
      },
      onDone(done) {
        const verdict = judgeJob({
          runtime: info.runtime,
          devMode: deps.devMode,
          streamedText: hooks.onChunk ? streamed : done.text,
          reportedText: done.text,
          usage: done.usage,
          elapsedMs: deps.now() - started,
        });
        if (verdict.reasons.includes("stream_mismatch")) {
          settle("failed", [done.usage.prompt_tokens, 0], verdict, () =>
            reject(new HttpError(502, "worker_failed", "The worker's answer did not match what it streamed.")),
          );
          return;
        }
        settle("completed", [done.usage.prompt_tokens, done.usage.completion_tokens], verdict, () =>
          resolve({ jobId, session: target, done, verdict, latencyMs: deps.now() - started }),
        );
      },
      onFail(fail) {
        const shown = publicFailure(fail.code);
        deps.log?.warn(`job ${jobId} failed on worker ${info.worker_id}: ${logSafe(fail.code)}: ${logSafe(fail.message)}`);
        settle("failed", [0, 0], failed("worker_failed"), () =>
          reject(new HttpError(502, "worker_failed", shown.message, { worker_error: shown.code })),
        );
      },
    });
    // A client gone while the offer was out: the worker has the job, so cancel it at once.
    if (hooks.signal?.aborted) onAbort();
    else hooks.signal?.addEventListener("abort", onAbort, { once: true });
  });
}
