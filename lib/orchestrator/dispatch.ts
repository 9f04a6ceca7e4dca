/**
 * Sends one inference request to one worker and waits for its answer. Exactly one worker
 * serves a job; a worker that refuses (full, draining, backend down) is skipped for another.
 */
import { randomBytes } from "node:crypto";
import { judgeFailedJob, judgeJob, type JobVerdict } from "../core/anti-cheat.ts";
import { EVENTS, type Handshake, type InferenceRequest, type JobAck, JobAckSchema, type JobDone, parsePayload } from "../core/protocol.ts";
import { logSafe, publicFailure } from "../core/worker-failure.ts";
import type { LiveWorker } from "./fleet.ts";
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
  /** Send the job to this worker only (the verification job tests one worker); no other is tried. */
  workerId?: string;
  /** Record the job as not payable for this reason (a verification job is the network's own test). */
  unpaidReason?: string;
}

export interface DispatchResult {
  jobId: string;
  session: ServingWorker;
  done: JobDone;
  verdict: JobVerdict;
  latencyMs: number;
}

/** Why a dispatch did not produce an answer; the HTTP routes map each to a status. */
export type DispatchFailure =
  /** No idle online worker serves the model. */
  | "no_worker"
  /** The one worker asked for (`hooks.workerId`) is not connected, not serving the model, or busy. */
  | "worker_unavailable"
  /** The worker failed the job, or its answer did not match what it streamed. */
  | "worker_failed"
  /** The worker did not finish within the job timeout. */
  | "timeout"
  /** The caller went away; the job was cancelled on the worker. */
  | "client_gone"
  /** The job ended but its record could not be written; it is not billed. */
  | "not_recorded";

export class DispatchError extends Error {
  override readonly name = "DispatchError";
  constructor(
    readonly reason: DispatchFailure,
    message: string,
    /** The worker's error code as shown to clients (`publicFailure`), when it reported one. */
    readonly workerError?: string,
  ) {
    super(message);
  }
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

function unavailable(model: string, workerId: string | undefined): DispatchError {
  if (workerId !== undefined) {
    return new DispatchError("worker_unavailable", `Worker ${workerId} is not connected, not serving ${model}, or busy.`);
  }
  return new DispatchError("no_worker", `No idle online worker serves ${model}.`);
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
     * Every routed job gets its line; the verdict decides whether it pays, its reasons say why not.
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
        payable: verdict.payable,
        created_at: deps.now(),
      };
      deps.store.recordJob(job, ledgerEntryFor(job, verdict.reasons)).then(outcome, (error: unknown) => {
        deps.log?.warn(`job ${jobId} could not be recorded: ${logSafe(error instanceof Error ? error.message : String(error))}`);
        reject(new DispatchError("not_recorded", "The job ended but could not be recorded; it is not billed. Try again."));
      });
    };
    const failed = (reason: string): JobVerdict => judgeFailedJob(reason, hooks.unpaidReason);

    // The client went away: the job is cancelled on the worker and still gets its ledger line.
    const onAbort = () => {
      target.cancel(jobId, "client_gone");
      settle("failed", [0, 0], failed("client_gone"), () => reject(new DispatchError("client_gone", "The client went away; the job was cancelled.")));
    };
    const timer = setTimeout(() => {
      target.cancel(jobId, "timeout");
      settle("failed", [0, 0], failed("timeout"), () =>
        reject(new DispatchError("timeout", `The worker did not finish within ${deps.jobTimeoutMs} ms.`)),
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
          unpaidReason: hooks.unpaidReason,
        });
        if (verdict.reasons.includes("stream_mismatch")) {
          settle("failed", [done.usage.prompt_tokens, 0], verdict, () =>
            reject(new DispatchError("worker_failed", "The worker's answer did not match what it streamed.")),
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
          reject(new DispatchError("worker_failed", shown.message, shown.code)),
        );
      },
    });
    // A client gone while the offer was out: the worker has the job, so cancel it at once.
    if (hooks.signal?.aborted) onAbort();
    else hooks.signal?.addEventListener("abort", onAbort, { once: true });
  });
}
