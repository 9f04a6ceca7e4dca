/**
 * Sends one inference request to one worker and waits for its answer. Exactly one worker
 * serves a job; a worker that refuses (full, draining, backend down) is skipped for another.
 */
import { randomBytes } from "node:crypto";
import { judgeFailedJob, judgeJob, type JobVerdict } from "../core/anti-cheat.ts";
import { EVENTS, type InferenceRequest, type JobAck, JobAckSchema, type JobDone, parsePayload } from "../core/protocol.ts";
import { ledgerEntryFor } from "./rewards.ts";
import type { SessionRegistry, WorkerSession } from "./sessions.ts";
import type { JobRecord, Store } from "./store.ts";

export interface DispatchDeps {
  registry: SessionRegistry;
  store: Store;
  devMode: boolean;
  now: () => number;
  jobTimeoutMs: number;
  ackTimeoutMs: number;
}

export interface DispatchHooks {
  /** Called once a worker has accepted the job, before any text. */
  onAccepted?(session: WorkerSession, jobId: string): void;
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
  session: WorkerSession;
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
  | "client_gone";

export class DispatchError extends Error {
  override readonly name = "DispatchError";
  constructor(
    readonly reason: DispatchFailure,
    message: string,
    /** The worker's own error code, when it reported one (`job:fail`). */
    readonly workerError?: string,
  ) {
    super(message);
  }
}

export function newJobId(): string {
  return `job_${randomBytes(12).toString("hex")}`;
}

async function offerJob(session: WorkerSession, payload: unknown, timeoutMs: number): Promise<JobAck> {
  try {
    const answer: unknown = await session.socket.timeout(timeoutMs).emitWithAck(EVENTS.assign, payload);
    return parsePayload(JobAckSchema, answer) ?? { accepted: false, reason: "invalid" };
  } catch {
    return { accepted: false, reason: "unavailable" };
  }
}

export async function dispatchJob(deps: DispatchDeps, request: InferenceRequest, hooks: DispatchHooks = {}): Promise<DispatchResult> {
  const jobId = newJobId();
  const tried = new Set<WorkerSession>();
  // Chunks cross the socket only when someone reads them as they come.
  const stream = hooks.onChunk !== undefined;
  const payload = { job_id: jobId, request, timeout_ms: deps.jobTimeoutMs, stream };
  for (;;) {
    const session = pickSession(deps.registry, request.model, tried, hooks.workerId);
    if (!session && hooks.workerId !== undefined) {
      throw new DispatchError("worker_unavailable", `Worker ${hooks.workerId} is not connected, not serving ${request.model}, or busy.`);
    }
    if (!session) throw new DispatchError("no_worker", `No idle online worker serves ${request.model}.`);
    tried.add(session);
    // Count the slot before the ack so concurrent dispatches do not all pick the same worker.
    session.active++;
    const ack = await offerJob(session, payload, deps.ackTimeoutMs);
    if (!ack.accepted) {
      session.active--;
      if (ack.reason === "draining") session.draining = true;
      continue;
    }
    return await awaitResult(deps, session, jobId, request, hooks);
  }
}

function pickSession(registry: SessionRegistry, model: string, tried: ReadonlySet<WorkerSession>, workerId: string | undefined) {
  if (workerId === undefined) return registry.pick(model, tried);
  const session = registry.get(workerId);
  return session && !tried.has(session) && session.info.models.includes(model) ? session : undefined;
}

function awaitResult(
  deps: DispatchDeps,
  session: WorkerSession,
  jobId: string,
  request: InferenceRequest,
  hooks: DispatchHooks,
): Promise<DispatchResult> {
  const started = deps.now();
  hooks.onAccepted?.(session, jobId);
  return new Promise<DispatchResult>((resolve, reject) => {
    let streamed = "";
    const finish = () => {
      clearTimeout(timer);
      hooks.signal?.removeEventListener("abort", onAbort);
      session.jobs.delete(jobId);
      session.active = Math.max(0, session.active - 1);
    };
    const cancel = (reason: string) => session.socket.emit(EVENTS.cancel, { job_id: jobId, reason });
    const onAbort = () => {
      finish();
      cancel("client_gone");
      reject(new DispatchError("client_gone", "The client went away; the job was cancelled."));
    };
    const timer = setTimeout(() => {
      finish();
      cancel("timeout");
      record("failed", 0, 0, judgeFailedJob("timeout", hooks.unpaidReason));
      reject(new DispatchError("timeout", `The worker did not finish within ${deps.jobTimeoutMs} ms.`));
    }, deps.jobTimeoutMs);
    hooks.signal?.addEventListener("abort", onAbort, { once: true });

    // Every routed job gets a ledger line; the verdict decides whether it pays, its reasons say why not.
    const record = (status: "completed" | "failed", promptTokens: number, completionTokens: number, verdict: JobVerdict) => {
      const job: JobRecord = {
        job_id: jobId,
        worker_id: session.info.worker_id,
        worker_wallet: session.info.worker_wallet,
        model: request.model,
        status,
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        latency_ms: deps.now() - started,
        payable: verdict.payable,
        created_at: deps.now(),
      };
      deps.store.recordJob(job, ledgerEntryFor(job, verdict.reasons));
    };

    session.jobs.set(jobId, {
      onChunk(delta) {
        streamed += delta;
        hooks.onChunk?.(delta);
      },
      onDone(done) {
        finish();
        const verdict = judgeJob({
          runtime: session.info.runtime,
          devMode: deps.devMode,
          streamedText: hooks.onChunk ? streamed : done.text,
          reportedText: done.text,
          usage: done.usage,
          elapsedMs: deps.now() - started,
          unpaidReason: hooks.unpaidReason,
        });
        if (verdict.reasons.includes("stream_mismatch")) {
          record("failed", done.usage.prompt_tokens, 0, verdict);
          reject(new DispatchError("worker_failed", "The worker's answer did not match what it streamed."));
          return;
        }
        record("completed", done.usage.prompt_tokens, done.usage.completion_tokens, verdict);
        resolve({ jobId, session, done, verdict, latencyMs: deps.now() - started });
      },
      onFail(fail) {
        finish();
        record("failed", 0, 0, judgeFailedJob("worker_failed", hooks.unpaidReason));
        reject(new DispatchError("worker_failed", `${fail.code}: ${fail.message}`, fail.code));
      },
    });
  });
}
