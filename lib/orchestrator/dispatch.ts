/**
 * Sends one inference request to one worker and waits for its answer. Exactly one worker
 * serves a job; a worker that refuses (full, draining, backend down), or that sends no token
 * within the first-token timeout, is skipped for another.
 */
import { randomBytes } from "node:crypto";
import { judgeJob, type JobVerdict, MISCONDUCT_REASONS } from "../core/anti-cheat.ts";
import { EVENTS, type InferenceRequest, type JobAck, JobAckSchema, type JobDone, parsePayload } from "../core/protocol.ts";
import { jobTextCapBytes, utf8Bytes } from "../core/usage-bounds.ts";
import { HttpError } from "./http.ts";
import { ledgerEntryFor } from "./rewards.ts";
import { recordCompletion, recordSetback, type SessionRegistry, type WorkerSession } from "./sessions.ts";
import type { JobRecord, Store } from "./store.ts";

export const DEFAULT_FIRST_TOKEN_TIMEOUT_MS = 30_000;

export interface DispatchDeps {
  registry: SessionRegistry;
  store: Store;
  devMode: boolean;
  now: () => number;
  jobTimeoutMs: number;
  ackTimeoutMs: number;
  /** A job with no token after this long is cancelled on its worker and tried on another. */
  firstTokenTimeoutMs?: number;
  /** Told each time a worker is penalised (logging). */
  onSetback?(session: WorkerSession, reason: string, cooldownMs: number): void;
}

export interface DispatchHooks {
  /** Called once a worker has sent its first token (or its whole answer), before any text. */
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
  /** The worker's answer, its usage held to what the request and the text can hold. */
  done: JobDone;
  verdict: JobVerdict;
  latencyMs: number;
}

export function newJobId(): string {
  return `job_${randomBytes(12).toString("hex")}`;
}

async function offer(session: WorkerSession, payload: unknown, timeoutMs: number): Promise<JobAck> {
  try {
    const answer: unknown = await session.socket.timeout(timeoutMs).emitWithAck(EVENTS.assign, payload);
    return parsePayload(JobAckSchema, answer) ?? { accepted: false, reason: "invalid" };
  } catch {
    return { accepted: false, reason: "unavailable" };
  }
}

/** Penalise a worker for a setback: half its capacity and a bounded cooldown. */
export function penalise(deps: DispatchDeps, session: WorkerSession, reason: string): void {
  const cooldown = recordSetback(session, deps.now(), deps.registry.trust);
  deps.onSetback?.(session, reason, cooldown);
}

/** Thrown inside the retry loop: the worker sent nothing in time, so another one is tried. */
class NoFirstToken extends Error {}

export async function dispatchJob(deps: DispatchDeps, request: InferenceRequest, hooks: DispatchHooks = {}): Promise<DispatchResult> {
  const tried = new Set<WorkerSession>();
  // Chunks cross the socket only when someone reads them as they come.
  const stream = hooks.onChunk !== undefined;
  let silent = 0;
  for (;;) {
    const session = pickSession(deps.registry, request.model, tried, hooks.workerId);
    if (!session && silent > 0) {
      throw new HttpError(504, "worker_timeout", `No worker sent a first token within ${deps.firstTokenTimeoutMs ?? DEFAULT_FIRST_TOKEN_TIMEOUT_MS} ms.`);
    }
    if (!session && hooks.workerId !== undefined) {
      throw new HttpError(503, "worker_unavailable", `Worker ${hooks.workerId} is not connected, not serving ${request.model}, or busy.`);
    }
    if (!session) throw new HttpError(503, "no_worker_available", `No idle online worker serves ${request.model}.`);
    tried.add(session);
    const jobId = newJobId();
    const payload = { job_id: jobId, request, timeout_ms: deps.jobTimeoutMs, stream };
    // Count the slot before the ack so concurrent dispatches do not all pick the same worker.
    session.active++;
    const ack = await offer(session, payload, deps.ackTimeoutMs);
    if (!ack.accepted) {
      session.active--;
      if (ack.reason === "draining") session.draining = true;
      continue;
    }
    try {
      return await awaitResult(deps, session, jobId, request, hooks);
    } catch (error) {
      if (!(error instanceof NoFirstToken)) throw error;
      silent++;
    }
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
  const textCap = jobTextCapBytes(request);
  const firstTokenMs = deps.firstTokenTimeoutMs ?? DEFAULT_FIRST_TOKEN_TIMEOUT_MS;
  const streaming = hooks.onChunk !== undefined;
  return new Promise<DispatchResult>((resolve, reject) => {
    let streamed = "";
    let streamedBytes = 0;
    let accepted = false;
    let settled = false;
    const finish = () => {
      settled = true;
      clearTimeout(timer);
      clearTimeout(firstTokenTimer);
      hooks.signal?.removeEventListener("abort", onAbort);
      session.jobs.delete(jobId);
      session.active = Math.max(0, session.active - 1);
    };
    const cancel = (reason: string) => session.socket.emit(EVENTS.cancel, { job_id: jobId, reason });
    /** The first sign of work: from now on the client is this worker's. */
    const firstToken = () => {
      if (accepted) return;
      accepted = true;
      clearTimeout(firstTokenTimer);
      hooks.onAccepted?.(session, jobId);
    };
    const onAbort = () => {
      finish();
      cancel("client_gone");
      reject(new HttpError(499, "client_closed"));
    };
    const timer = setTimeout(() => {
      finish();
      cancel("timeout");
      penalise(deps, session, "timeout");
      safeRecord("failed", 0, 0, ["timeout"]);
      reject(new HttpError(504, "worker_timeout", `The worker did not finish within ${deps.jobTimeoutMs} ms.`));
    }, deps.jobTimeoutMs);
    const firstTokenTimer = setTimeout(() => {
      if (accepted || settled) return;
      finish();
      cancel("no_first_token");
      penalise(deps, session, "no_first_token");
      safeRecord("failed", 0, 0, ["no_first_token"]);
      reject(new NoFirstToken());
    }, Math.min(firstTokenMs, deps.jobTimeoutMs));
    hooks.signal?.addEventListener("abort", onAbort, { once: true });

    // Every routed job gets a ledger line; the verdict's reasons say why one pays 0.
    const record = (status: "completed" | "failed", promptTokens: number, completionTokens: number, reasons: readonly string[], payable = false) => {
      const job: JobRecord = {
        job_id: jobId,
        worker_id: session.info.worker_id,
        worker_wallet: session.info.worker_wallet,
        model: request.model,
        status,
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        latency_ms: deps.now() - started,
        payable: payable && hooks.unpaidReason === undefined,
        created_at: deps.now(),
      };
      const all = [...reasons, ...(hooks.unpaidReason ? [hooks.unpaidReason] : [])];
      deps.store.recordJob(job, ledgerEntryFor(job, all));
    };
    /** A failure's ledger line; a store error here must not hide the failure itself. */
    const safeRecord = (status: "failed", promptTokens: number, completionTokens: number, reasons: readonly string[]) => {
      try {
        record(status, promptTokens, completionTokens, reasons);
      } catch {
        // The job already failed; its line is lost with the store error, never made payable.
      }
    };
    /** The orchestrator ends the job: a broken stream, a bad payload, a replaced session. */
    const abort = (reason: string, message: string) => {
      if (settled) return;
      finish();
      cancel(reason);
      penalise(deps, session, reason);
      safeRecord("failed", 0, 0, [reason]);
      reject(new HttpError(502, "worker_failed", message, { worker_error: reason }));
    };

    session.jobs.set(jobId, {
      abort,
      onFirstToken: firstToken,
      onChunk(delta) {
        streamedBytes += utf8Bytes(delta);
        if (streamedBytes > textCap) return abort("text_over_cap", `The worker sent more than ${textCap} bytes of text for this job.`);
        firstToken();
        if (!streaming) return;
        streamed += delta;
        hooks.onChunk?.(delta);
      },
      onDone(done) {
        if (settled) return;
        if (utf8Bytes(done.text) > textCap) return abort("text_over_cap", `The worker sent more than ${textCap} bytes of text for this job.`);
        firstToken();
        finish();
        try {
          const verdict = judgeJob({
            runtime: session.info.runtime,
            devMode: deps.devMode,
            request,
            streamedText: streaming ? streamed : done.text,
            reportedText: done.text,
            usage: done.usage,
            elapsedMs: deps.now() - started,
          });
          const misconduct = verdict.reasons.filter((r) => MISCONDUCT_REASONS.has(r));
          if (misconduct.length > 0) penalise(deps, session, misconduct.join(","));
          else recordCompletion(session);
          if (verdict.reasons.includes("stream_mismatch")) {
            safeRecord("failed", 0, 0, verdict.reasons);
            reject(new HttpError(502, "worker_failed", "The worker's answer did not match what it streamed."));
            return;
          }
          record("completed", verdict.usage.prompt_tokens, verdict.usage.completion_tokens, verdict.reasons, verdict.payable);
          const bounded = { ...done, usage: verdict.usage };
          resolve({ jobId, session, done: bounded, verdict, latencyMs: deps.now() - started });
        } catch {
          safeRecord("failed", 0, 0, ["internal_error"]);
          reject(new HttpError(502, "worker_failed", "The worker's answer could not be recorded."));
        }
      },
      onFail(fail) {
        if (settled) return;
        finish();
        penalise(deps, session, "worker_failed");
        safeRecord("failed", 0, 0, ["worker_failed"]);
        reject(new HttpError(502, "worker_failed", `${fail.code}: ${fail.message}`, { worker_error: fail.code }));
      },
    });
  });
}
