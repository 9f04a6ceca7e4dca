/**
 * Sends one inference request to one worker and waits for its answer. Exactly one worker
 * serves a job; a worker that refuses (full, draining, backend down), or that sends no token
 * within the first-token timeout, is skipped for another.
 */
import { randomBytes } from "node:crypto";
import { judgeJob, type JobVerdict, MISCONDUCT_REASONS } from "../core/anti-cheat.ts";
import { ORCHESTRATOR_ENV } from "../core/env-schema.ts";
import { OutputCollector, transcriptOf } from "../core/output-collector.ts";
import { EVENTS, type InferenceRequest, type JobAck, JobAckSchema, type JobChunk, type JobDone, parsePayload } from "../core/protocol.ts";
import { unhonouredParam } from "../core/runtime-capabilities.ts";
import { jobTextCapBytes, utf8Bytes } from "../core/usage-bounds.ts";
import { logSafe, publicFailure } from "../core/worker-failure.ts";
import type { LiveWorker, WorkerInfo } from "./fleet.ts";
import { HttpError } from "./http.ts";
import type { JobEvent } from "./metrics.ts";
import { receiptFor } from "./receipts.ts";
import { ledgerEntryFor } from "./rewards.ts";
import { type JobSink, recordCompletion, recordSetback, type SessionRegistry, type WorkerSession } from "./sessions.ts";
import type { JobRecord, Store } from "./store.ts";

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
}

export interface DispatchEvents {
  job(event: JobEvent): void;
  refused(reason: string, model: string): void;
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
  /** Called once the worker has sent its first token (or its whole answer), before any text. */
  onAccepted?(worker: ServingWorker, jobId: string): void;
  onChunk?(chunk: JobChunk): void;
  /** Aborted when the HTTP client goes away: the job is cancelled on the worker. */
  signal?: AbortSignal;
  /** Send the job to this worker only (the canary tests one worker); no other is tried. */
  workerId?: string;
  /** Record the job as not payable for this reason (a canary job is the network's own test). */
  unpaidReason?: string;
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
export async function offerToSocket(session: WorkerSession, payload: AssignPayload, timeoutMs: number): Promise<JobAck> {
  try {
    const answer: unknown = await session.socket.timeout(timeoutMs).emitWithAck(EVENTS.assign, payload);
    return parsePayload(JobAckSchema, answer) ?? { accepted: false, reason: "invalid" };
  } catch {
    return { accepted: false, reason: "unavailable" };
  }
}

export function localTarget(session: WorkerSession, registry: SessionRegistry, now: () => number): JobTarget {
  return {
    info: session.info,
    unverified: () => session.spotCheck === "failed",
    attach: (jobId, sink) => session.jobs.set(jobId, sink),
    detach(jobId) {
      session.jobs.delete(jobId);
      session.active = Math.max(0, session.active - 1);
    },
    cancel: (jobId, reason) => session.socket.emit(EVENTS.cancel, { job_id: jobId, reason }),
    setback: () => recordSetback(session, now(), registry.trust),
    completed: () => recordCompletion(session),
  };
}

function unavailable(model: string, workerId: string | undefined): HttpError {
  if (workerId !== undefined) {
    return new HttpError(503, "worker_unavailable", `Worker ${workerId} is not connected, not serving ${model}, or busy.`);
  }
  return new HttpError(503, "no_worker_available", `No idle online worker serves ${model}.`);
}

/** Thrown inside the retry loop: the worker sent nothing in time, so another one is tried. */
class NoFirstToken extends Error {}

export async function dispatchJob(deps: DispatchDeps, request: InferenceRequest, hooks: DispatchHooks = {}): Promise<DispatchResult> {
  const tried = new Set<WorkerSession>();
  const triedIds = new Set<string>();
  // Chunks cross the socket only when someone reads them as they come.
  const stream = hooks.onChunk !== undefined;
  // Each try is its own job (and ledger line): a worker that stayed silent is cancelled first.
  const payloadFor = (): AssignPayload => ({ job_id: newJobId(), request, timeout_ms: deps.jobTimeoutMs, stream });
  let silent = 0;
  try {
    refuseUnhonoured(deps.registry, request, tried);
  } catch (error) {
    throw refused(deps, error, request.model);
  }
  const run = async (target: JobTarget, jobId: string): Promise<DispatchResult | undefined> => {
    try {
      return await awaitResult(deps, target, jobId, request, hooks);
    } catch (error) {
      if (!(error instanceof NoFirstToken)) throw error;
      silent++;
      return undefined;
    }
  };
  // Workers on this instance first: a job relayed to another instance costs a round trip through the database.
  for (;;) {
    const session = pickSession(deps.registry, request.model, tried, hooks.workerId);
    if (!session) break;
    tried.add(session);
    triedIds.add(session.info.worker_id);
    const payload = payloadFor();
    // Count the slot before the ack so concurrent dispatches do not all pick the same worker.
    session.active++;
    const ack = await offerToSocket(session, payload, deps.ackTimeoutMs);
    if (!ack.accepted) {
      session.active--;
      if (ack.reason === "draining") session.draining = true;
      continue;
    }
    const result = await run(localTarget(session, deps.registry, deps.now), payload.job_id);
    if (result) return result;
  }
  if (deps.relay) {
    const candidates = (await deps.relay.candidates(request.model, hooks.workerId)).filter((worker) => !triedIds.has(worker.info.worker_id));
    for (const worker of candidates) {
      const payload = payloadFor();
      const { ack, target } = await deps.relay.offer(worker, payload, deps.ackTimeoutMs);
      if (!ack.accepted || !target) continue;
      const result = await run(target, payload.job_id);
      if (result) return result;
    }
  }
  if (silent > 0) {
    throw new HttpError(504, "worker_timeout", `No worker sent a first token within ${deps.firstTokenTimeoutMs ?? DEFAULT_FIRST_TOKEN_TIMEOUT_MS} ms.`);
  }
  throw refused(deps, unavailable(request.model, hooks.workerId), request.model);
}

/**
 * Workers whose runtime cannot honour a parameter the request sets are never offered the job;
 * when that leaves none of the model's workers, the client gets a 400 naming the parameter.
 */
function refuseUnhonoured(registry: SessionRegistry, request: InferenceRequest, exclude: Set<WorkerSession>): void {
  let firstParam: string | undefined;
  let serving = 0;
  const runtimes = new Set<string>();
  for (const session of registry.all()) {
    if (!session.info.models.includes(request.model)) continue;
    serving++;
    const param = unhonouredParam(session.info.runtime, request);
    if (param === undefined) continue;
    firstParam ??= param;
    runtimes.add(session.info.runtime);
    exclude.add(session);
  }
  if (serving > 0 && exclude.size === serving && firstParam !== undefined) {
    throw new HttpError(400, "unsupported_parameter", `\`${firstParam}\` as sent cannot be honoured by the ${[...runtimes].join("/")} runtime of the workers serving ${request.model}.`, { param: firstParam });
  }
}

function refused(deps: DispatchDeps, error: unknown, model: string): unknown {
  if (error instanceof HttpError) deps.events?.refused(error.code, model);
  return error;
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
      verdict: Pick<JobVerdict, "payable" | "reasons">,
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
        payable: verdict.payable && hooks.unpaidReason === undefined,
        created_at: deps.now(),
      };
      const reasons = [...verdict.reasons, ...(hooks.unpaidReason ? [hooks.unpaidReason] : [])];
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
        moved: 0,
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
        reject(new HttpError(503, "not_recorded", "The job ended but could not be recorded; it is not billed. Try again."));
      });
    };
    const failed = (reason: string) => ({ payable: false, reasons: [reason] });

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
      settle("client_closed", [0, 0], failed("client_gone"), () => reject(new HttpError(499, "client_closed")));
    };
    const timer = setTimeout(() => {
      target.cancel(jobId, "timeout");
      penalise("timeout");
      settle("worker_timeout", [0, 0], failed("timeout"), () =>
        reject(new HttpError(504, "worker_timeout", `The worker did not finish within ${deps.jobTimeoutMs} ms.`)),
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
      settle(reason, [0, 0], failed(reason), () => reject(new HttpError(502, "worker_failed", message, { worker_error: reason })));
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
        });
        const misconduct = verdict.reasons.filter((reason) => MISCONDUCT_REASONS.has(reason));
        if (misconduct.length > 0) penalise(misconduct.join(","));
        else target.completed();
        if (verdict.reasons.includes("stream_mismatch")) {
          settle("stream_mismatch", [0, 0], verdict, () => reject(new HttpError(502, "worker_failed", "The worker's answer did not match what it streamed.")));
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
        settle("worker_failed", [0, 0], failed("worker_failed"), () => reject(new HttpError(502, "worker_failed", shown.message, { worker_error: shown.code })));
      },
    });
    // A client gone while the offer was out: the worker has the job, so cancel it at once.
    if (hooks.signal?.aborted) onAbort();
    else hooks.signal?.addEventListener("abort", onAbort, { once: true });
  });
}
