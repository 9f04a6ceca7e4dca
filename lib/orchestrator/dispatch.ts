/**
 * Sends one inference request to one worker and waits for its answer. Exactly one worker
 * serves a job; a worker that refuses (full, draining, backend down), or that sends no token
 * within the first-token timeout, is skipped for another.
 */
import { randomBytes } from "node:crypto";
import { judgeFailedJob, judgeJob, type JobVerdict, MISCONDUCT_REASONS, type Standing } from "../core/anti-cheat.ts";
import { ORCHESTRATOR_ENV } from "../core/env-schema.ts";
import { OutputCollector, transcriptOf } from "../core/output-collector.ts";
import { EVENTS, type InferenceRequest, type JobAck, JobAckSchema, type JobChunk, type JobDone, parsePayload } from "../core/protocol.ts";
import { jobTextCapBytes, utf8Bytes } from "../core/usage-bounds.ts";
import { logSafe, publicFailure } from "../core/worker-failure.ts";
import type { LiveWorker, WorkerInfo } from "./fleet.ts";
import { DispatchError } from "./dispatch-error.ts";

export { DispatchError, type DispatchFailure } from "./dispatch-error.ts";
import type { JobEvent } from "./metrics.ts";
import type { ModelQueues } from "./model-queue.ts";
import type { LatencyBook, PriceBook } from "./routing-state.ts";
import { receiptFor } from "./receipts.ts";
import { ledgerEntryFor } from "./rewards.ts";
import { isEligible, type JobSink, recordCompletion, recordSetback, type SessionRegistry, type WorkerSession } from "./sessions.ts";
import type { JobRecord, Store } from "./store.ts";
import { anyWithinPrice, pickSession, refuseUnhonoured, servesModel, withinPrice } from "./worker-choice.ts";

export const DEFAULT_FIRST_TOKEN_TIMEOUT_MS = ORCHESTRATOR_ENV.BASIS_FIRST_TOKEN_TIMEOUT_MS.fallback;

export interface DispatchDeps {
  registry: SessionRegistry;
  store: Store;
  devMode: boolean;
  now: () => number;
  jobTimeoutMs: number;
  ackTimeoutMs: number;
  /** A job with no token after this long is cancelled on its worker and tried on another. */
  firstTokenTimeoutMs?: number;
  /** Where a worker's own failure text goes; clients get only `publicFailure`'s fixed messages. */
  log?: { warn(message: string): void };
  /** Set when several orchestrators share one database: workers on the others can serve too. */
  relay?: Relay | undefined;
  /** Told about every job once it is over, and every request refused before one ran (metrics, logs). */
  events?: DispatchEvents;
  /** Where requests wait while every worker of their model is busy; none: 503 at once. */
  queues?: ModelQueues;
  latency?: LatencyBook;
  prices?: PriceBook;
  /** For the weighted pick; tests pass a seeded one. */
  random?: () => number;
}

export interface DispatchEvents {
  job(event: JobEvent): void;
  refused(reason: string, model: string): void;
  queued(model: string): void;
  /** A setback for a worker (earned capacity halved, a cooldown): a timeout, a failure, misconduct. */
  penalty?(workerId: string, reason: string): void;
  /** A job left a worker before its first token for another try. */
  moved?(model: string, reason: string): void;
}

/** The worker a job went to, wherever it is connected. */
export interface ServingWorker {
  info: WorkerInfo;
  /** Failed its last spot check and has not passed one since: its jobs are not payable. */
  unverified(): boolean;
}

/** Where a job's events come from and its cancel goes to: a local socket or another instance. */
export interface JobTarget extends ServingWorker {
  attach(jobId: string, sink: JobSink): void;
  /** Forgets the job and frees its slot. */
  detach(jobId: string): void;
  /** Cancels the job on the worker; for a remote worker its owner applies a setback the reason names. */
  cancel(jobId: string, reason: string): void;
  /** A setback on this instance (halved capacity, cooldown); answers the cooldown, or undefined for a remote worker. */
  setback(reason: string): number | undefined;
  completed(): void;
}

/** Cross-instance dispatch (cluster.ts): offers a job to a worker connected to another orchestrator. */
export interface Relay {
  /**
   * Live workers on other instances that serve this model (or are this worker id), free or not,
   * the least loaded eligible ones first: the dispatcher offers jobs to eligible ones only, and
   * reads the rest to tell "busy or down" (503, 429 after waiting) from "nobody serves it" (404).
   */
  candidates(model: string, workerId: string | undefined): Promise<LiveWorker[]>;
  /** Offers the job; on acceptance, a target whose events arrive from the owning instance. */
  offerJob(worker: LiveWorker, payload: AssignPayload, timeoutMs: number): Promise<{ ack: JobAck; target?: JobTarget }>;
}

export interface AssignPayload {
  job_id: string;
  request: InferenceRequest;
  timeout_ms: number;
  stream: boolean;
}

export interface DispatchHooks {
  /** Called once the worker has sent its first token (or its whole answer), before any text. */
  onAccepted?(worker: ServingWorker, jobId: string): void;
  onChunk?(chunk: JobChunk): void;
  /** Aborted when the HTTP client goes away: the job is cancelled on the worker. */
  signal?: AbortSignal;
  /** Send the job to this worker only (the canary tests one worker); no other is tried. */
  workerId?: string;
  /** Record the job as not payable for this reason (a verification job is the network's own test). */
  unpaidReason?: string;
  /** `x-basis-max-price`: only workers asking at most this (raw per 1M output tokens). */
  maxPrice?: bigint;
  /** A hidden verification job (spot-checks.ts): it looks like any job to the worker, and writes no ledger line. */
  spotCheck?: boolean;
}

export interface DispatchResult {
  jobId: string;
  session: ServingWorker;
  /** The worker's answer, its usage held to what the request and the text can hold. */
  done: JobDone;
  verdict: JobVerdict;
  latencyMs: number;
  /** The hash of the job's receipt (`x-basis-receipt`, `GET /api/receipts/:hash`). */
  receiptHash: string;
}

export function newJobId(): string {
  return `job_${randomBytes(12).toString("hex")}`;
}

/** Offers a job to a local worker's socket and waits for its ack. */
/**
 * Offers a job to a local worker's socket and waits for its ack. A worker that does not answer
 * in time, or answers with no valid ack, takes a setback (`onSilent`): otherwise one that never
 * acks would hold up every dispatch that picks it for the whole ack timeout.
 */
export async function offerToSocket(session: WorkerSession, payload: AssignPayload, timeoutMs: number, onSilent?: () => void): Promise<JobAck> {
  try {
    const answer: unknown = await session.socket.timeout(timeoutMs).emitWithAck(EVENTS.assign, payload);
    const ack = parsePayload(JobAckSchema, answer);
    if (ack) return ack;
    onSilent?.();
    return { accepted: false, reason: "invalid" };
  } catch {
    if (session.socket.connected) onSilent?.();
    return { accepted: false, reason: "unavailable" };
  }
}

export function localTarget(session: WorkerSession, registry: SessionRegistry, now: () => number, queues?: ModelQueues): JobTarget {
  return {
    info: session.info,
    unverified: () => session.spotCheck === "failed",
    attach: (jobId, sink) => session.jobs.set(jobId, sink),
    detach(jobId) {
      session.jobs.delete(jobId);
      session.active = Math.max(0, session.active - 1);
      // A slot freed: requests waiting for this worker's models may take it.
      queues?.notify(session.info.models);
    },
    cancel: (jobId, reason) => session.socket.emit(EVENTS.cancel, { job_id: jobId, reason }),
    setback: () => recordSetback(session, now(), registry.trust),
    completed: () => recordCompletion(session),
  };
}

function unavailable(model: string, workerId: string | undefined): DispatchError {
  if (workerId !== undefined) {
    return new DispatchError("worker_unavailable", `Worker ${workerId} is not connected, not serving ${model}, or busy.`);
  }
  return new DispatchError("no_worker", `No idle online worker serves ${model}.`);
}

/** Thrown inside the retry loop: the worker sent nothing in time, so another one is tried. */
class NoFirstToken extends Error {}

/** Thrown inside the retry loop: the worker failed before its first token, so the job may move once. */
class FailedBeforeFirstToken extends Error {
  constructor(readonly answer: DispatchError) {
    super(answer.message);
  }
}

/** How many times a job moves to another worker after a failure before its first token. */
export const MOVES_ON_FAILURE = 1;

export async function dispatchJob(deps: DispatchDeps, request: InferenceRequest, hooks: DispatchHooks = {}): Promise<DispatchResult> {
  // Chunks cross the socket only when someone reads them as they come.
  const stream = hooks.onChunk !== undefined;
  // Each try is its own job (and ledger line): a worker that stayed silent or failed first is cancelled.
  const payloadFor = (): AssignPayload => ({ job_id: newJobId(), request, timeout_ms: deps.jobTimeoutMs, stream });
  const unfit = new Set<WorkerSession>();
  try {
    refuseUnhonoured(deps.registry, request, unfit);
  } catch (error) {
    throw refused(deps, error, request.model);
  }
  let silent = 0;
  let moved = 0;
  let failure: DispatchError | undefined;
  /**
   * A worker that sent nothing in time, or failed before its first token (the client has seen
   * nothing yet), is left out for the rest of this request and the job moves on: any number of
   * times for silence, once for a failure.
   */
  const run = async (target: JobTarget, jobId: string, session?: WorkerSession): Promise<DispatchResult | undefined> => {
    try {
      return await awaitResult(deps, target, jobId, request, hooks);
    } catch (error) {
      if (error instanceof NoFirstToken) {
        silent++;
        deps.events?.moved?.(request.model, "no_first_token");
      } else if (error instanceof FailedBeforeFirstToken && moved < MOVES_ON_FAILURE) {
        moved++;
        failure = error.answer;
        deps.events?.moved?.(request.model, "worker_failed");
      } else {
        throw error instanceof FailedBeforeFirstToken ? error.answer : error;
      }
      if (session) unfit.add(session);
      return undefined;
    }
  };
  const deadline = deps.now() + (deps.queues?.settings.timeoutMs ?? 0);
  for (;;) {
    const tried = new Set(unfit);
    const triedIds = new Set<string>();
    if (deps.prices) await deps.prices.fresh();
    // Workers on this instance first: a job relayed to another instance costs a round trip through the database.
    for (;;) {
      const session = pickSession(deps, request.model, tried, hooks);
      if (!session) break;
      tried.add(session);
      triedIds.add(session.info.worker_id);
      const payload = payloadFor();
      // Count the slot before the ack so concurrent dispatches do not all pick the same worker.
      session.active++;
      const ack = await offerToSocket(session, payload, deps.ackTimeoutMs, () => {
        const cooldown = recordSetback(session, deps.now(), deps.registry.trust);
        deps.log?.warn(`worker ${session.info.worker_id}: no_ack; cooling down ${cooldown} ms`);
      });
      if (!ack.accepted) {
        session.active--;
        if (ack.reason === "draining") session.draining = true;
        continue;
      }
      const result = await run(localTarget(session, deps.registry, deps.now, deps.queues), payload.job_id, session);
      if (result) return result;
    }
    const remote = deps.relay ? await deps.relay.candidates(request.model, hooks.workerId) : [];
    const offerable = remote.filter((w) => isEligible(w, deps.now()) && !triedIds.has(w.info.worker_id) && withinPrice(deps, w.info.worker_id, request.model, hooks));
    for (const worker of offerable) {
      const payload = payloadFor();
      const { ack, target } = await deps.relay!.offerJob(worker, payload, deps.ackTimeoutMs);
      if (!ack.accepted || !target) continue;
      const result = await run(target, payload.job_id);
      if (result) return result;
    }
    if (silent > 0) {
      throw new DispatchError("timeout", `No worker sent a first token within ${deps.firstTokenTimeoutMs ?? DEFAULT_FIRST_TOKEN_TIMEOUT_MS} ms.`);
    }
    // A job that failed once and found no other worker free now answers with that failure.
    if (failure) throw failure;
    if (hooks.workerId !== undefined || !deps.queues) throw refused(deps, unavailable(request.model, hooks.workerId), request.model);
    // A model no online worker serves is not worth waiting for: 404, which clients do not retry.
    if (!servesModel(deps.registry, request.model) && remote.length === 0) {
      throw refused(deps, new DispatchError("model_not_found", `No online worker serves the model ${request.model}.`, { param: "model" }), request.model);
    }
    if (hooks.maxPrice !== undefined && !anyWithinPrice(deps, request.model, hooks, remote)) {
      throw refused(deps, new DispatchError("over_price", `No worker serving ${request.model} asks at most ${hooks.maxPrice} raw per 1M output tokens.`), request.model);
    }
    // Waiting is for busy workers; when every one is down or draining, say so at once.
    if (!deps.registry.serving(request.model).some((s) => s.available && !s.draining) && !remote.some((w) => w.available && !w.draining)) {
      throw refused(deps, unavailable(request.model, undefined), request.model);
    }
    deps.events?.queued(request.model);
    try {
      await deps.queues.wait(request.model, deadline, deps.now(), hooks.signal);
    } catch (error) {
      throw refused(deps, error, request.model);
    }
  }
}

function refused(deps: DispatchDeps, error: unknown, model: string): unknown {
  if (error instanceof DispatchError) deps.events?.refused(error.code, model);
  return error;
}

function awaitResult(
  deps: DispatchDeps,
  target: JobTarget,
  jobId: string,
  request: InferenceRequest,
  hooks: DispatchHooks,
): Promise<DispatchResult> {
  const started = deps.now();
  const { info } = target;
  const streaming = hooks.onChunk !== undefined;
  const textCap = jobTextCapBytes(request);
  const firstTokenMs = deps.firstTokenTimeoutMs ?? DEFAULT_FIRST_TOKEN_TIMEOUT_MS;
  return new Promise<DispatchResult>((resolve, reject) => {
    const streamed = new OutputCollector();
    let firstChunkAt: number | undefined;
    let streamedBytes = 0;
    let accepted = false;
    let settled = false;

    /** A setback for the worker: half its capacity and a bounded cooldown, logged. */
    const penalise = (reason: string) => {
      deps.events?.penalty?.(info.worker_id, reason);
      const cooldown = target.setback(reason);
      if (cooldown !== undefined) deps.log?.warn(`worker ${info.worker_id}: ${reason}; cooling down ${cooldown} ms`);
    };

    /**
     * Ends the job exactly once: frees the slot, writes the job and its ledger line, and only
     * once that is committed lets the answer go, so no answer leaves before its record is durable.
     * Every routed job gets its line; the verdict's reasons say why one pays 0.
     */
    const settle = (
      outcome: string,
      tokens: [number, number],
      verdict: Standing,
      answer: (receiptHash: string) => void,
      ttftMs?: number,
    ) => {
      if (settled) return;
      const status = outcome === "completed" ? "completed" : "failed";
      settled = true;
      clearTimeout(timer);
      clearTimeout(firstTokenTimer);
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
      const { reasons } = verdict;
      const receipt = status === "completed" && !hooks.spotCheck ? receiptFor(job, reasons, request.user) : undefined;
      if (!hooks.spotCheck) deps.events?.job({
        jobId,
        model: request.model,
        workerId: info.worker_id,
        outcome,
        promptTokens: job.prompt_tokens,
        outputTokens: job.completion_tokens,
        ttftMs: firstChunkAt !== undefined ? firstChunkAt - started : ttftMs,
        durationMs: job.latency_ms,
        payable: job.payable,
        reasons,
      });
      let recording: Promise<void>;
      try {
        // A spot check is never paid and never shown: it leaves no ledger line and no receipt.
        recording = hooks.spotCheck ? Promise.resolve() : deps.store.recordJob(job, ledgerEntryFor(job, reasons), receipt);
      } catch (error) {
        recording = Promise.reject(error);
      }
      recording.then(() => answer(receipt?.hash ?? ""), (error: unknown) => {
        deps.log?.warn(`job ${jobId} could not be recorded: ${logSafe(error instanceof Error ? error.message : String(error))}`);
        reject(new DispatchError("not_recorded", "The job ended but could not be recorded; it is not billed. Try again."));
      });
    };
    const failed = (reason: string): Standing => judgeFailedJob(reason, hooks.unpaidReason);

    /** The first sign of work: from now on the client is this worker's. */
    const firstToken = () => {
      if (accepted || settled) return;
      accepted = true;
      clearTimeout(firstTokenTimer);
      hooks.onAccepted?.(target, jobId);
    };

    // The client went away: the job is cancelled on the worker and still gets its ledger line.
    const onAbort = () => {
      target.cancel(jobId, "client_gone");
      settle("client_closed", [0, 0], failed("client_gone"), () => reject(new DispatchError("client_gone", "The client went away; the job was cancelled.")));
    };
    const timer = setTimeout(() => {
      target.cancel(jobId, "timeout");
      penalise("timeout");
      settle("worker_timeout", [0, 0], failed("timeout"), () =>
        reject(new DispatchError("timeout", `The worker did not finish within ${deps.jobTimeoutMs} ms.`)),
      );
    }, deps.jobTimeoutMs);
    // No token in time: cancelled on this worker, and the caller tries another.
    const firstTokenTimer = setTimeout(() => {
      if (accepted || settled) return;
      target.cancel(jobId, "no_first_token");
      penalise("no_first_token");
      settle("no_first_token", [0, 0], failed("no_first_token"), () => reject(new NoFirstToken()));
    }, Math.min(firstTokenMs, deps.jobTimeoutMs));

    /** The orchestrator ends the job itself: a bad payload, text over the cap, a replaced session. */
    const abort = (reason: string, message: string) => {
      if (settled) return;
      target.cancel(jobId, reason);
      penalise(reason);
      settle(reason, [0, 0], failed(reason), () => reject(new DispatchError("worker_failed", message, { worker_error: reason })));
    };
    const overCap = () => abort("text_over_cap", `The worker sent more than ${textCap} bytes of text for this job.`);

    target.attach(jobId, {
      abort,
      onFirstToken: firstToken,
      onChunk(chunk) {
        if (settled) return;
        streamedBytes += utf8Bytes(chunk.delta) + utf8Bytes(chunk.reasoning ?? "") + (chunk.tool_calls ?? []).reduce((n, c) => n + utf8Bytes(c.function?.arguments ?? ""), 0);
        if (streamedBytes > textCap) return overCap();
        firstChunkAt ??= deps.now();
        firstToken();
        if (!streaming) return;
        streamed.add({ ...chunk, content: chunk.delta });
        hooks.onChunk?.(chunk);
      },
      onDone(done) {
        if (settled) return;
        // Reasoning and tool calls are output too: capped, compared with the stream, counted as non-empty.
        const reported = transcriptOf(done);
        if (utf8Bytes(reported) > textCap) return overCap();
        firstToken();
        const verdict = judgeJob({
          runtime: info.runtime,
          devMode: deps.devMode,
          request,
          streamedText: streaming ? streamed.transcript() : reported,
          reportedText: reported,
          usage: done.usage,
          elapsedMs: deps.now() - started,
          unverified: target.unverified(),
          unpaidReason: hooks.unpaidReason,
        });
        const misconduct = verdict.reasons.filter((reason) => MISCONDUCT_REASONS.has(reason));
        if (misconduct.length > 0) penalise(misconduct.join(","));
        else target.completed();
        if (verdict.reasons.includes("stream_mismatch")) {
          settle("stream_mismatch", [0, 0], verdict, () => reject(new DispatchError("worker_failed", "The worker's answer did not match what it streamed.")));
          return;
        }
        // The ledger and the client get the usage held to its bounds, never a claim above them.
        const bounded = { ...done, usage: verdict.usage };
        settle(
          "completed",
          [verdict.usage.prompt_tokens, verdict.usage.completion_tokens],
          verdict,
          (receiptHash) => resolve({ jobId, session: target, done: bounded, verdict, latencyMs: deps.now() - started, receiptHash }),
          done.first_token_ms,
        );
      },
      onFail(fail) {
        if (settled) return;
        const shown = publicFailure(fail.code);
        deps.log?.warn(`job ${jobId} failed on worker ${info.worker_id}: ${logSafe(fail.code)}: ${logSafe(fail.message)}`);
        penalise("worker_failed");
        const answer = new DispatchError("worker_failed", shown.message, { worker_error: shown.code });
        // Before its first token the client has seen nothing: the job may move to another worker.
        settle("worker_failed", [0, 0], failed("worker_failed"), () => reject(accepted ? answer : new FailedBeforeFirstToken(answer)));
      },
    });
    // A client gone while the offer was out: the worker has the job, so cancel it at once.
    if (hooks.signal?.aborted) onAbort();
    else hooks.signal?.addEventListener("abort", onAbort, { once: true });
  });
}
