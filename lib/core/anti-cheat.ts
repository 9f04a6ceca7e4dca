/**
 * The orchestrator's verdict on a job: the one place that decides "payable". Its `payable` is
 * authoritative and everything else (the ledger, the x-basis-payable header, the welcome's
 * `payable`) reads it: the simulator, a dev-mode orchestrator, a worker that failed its last
 * spot check, output faster than any real GPU,
 * a mismatch between what was streamed and what was reported, usage above what the request and
 * the text can hold (lib/core/usage-bounds.ts), a job that did not finish, or one the network
 * runs for itself (the verification job) never pay. The verdict's `usage` is what the ledger
 * may take.
 */
import type { InferenceRequest, Usage } from "./protocol.ts";
import { checkUsage } from "./usage-bounds.ts";

/** Single-stream decode rates above this are not produced by real hardware today. */
export const MAX_PLAUSIBLE_TOKENS_PER_S = 5_000;

/** Reasons that are the worker's doing: each one counts against it (halves its capacity). */
export const MISCONDUCT_REASONS: ReadonlySet<string> = new Set(["stream_mismatch", "usage_inconsistent", "implausibly_fast"]);

/** Who serves the job, known before it runs. */
export interface WorkerStanding {
  runtime: string;
  devMode: boolean;
  /** The worker failed its last spot check and has not passed one since (docs/SPOT-CHECKS.md). */
  unverified?: boolean | undefined;
}

export interface JobEvidence extends WorkerStanding {
  request: InferenceRequest;
  streamedText: string;
  reportedText: string;
  usage: Usage;
  elapsedMs: number;
  /** The job is the network's own (e.g. `verification`): judged as usual, never paid. */
  unpaidReason?: string | undefined;
}

export interface JobVerdict {
  payable: boolean;
  reasons: string[];
  /** The claimed usage where it is within bounds, else the bounds. */
  usage: Usage;
}

/** A verdict reached without a finished answer, so without usage to hold. */
export type Standing = Pick<JobVerdict, "payable" | "reasons">;

/** Reasons a worker's jobs cannot pay whatever they produce: the simulator, a dev-mode orchestrator, a failed spot check. */
function standingReasons(worker: WorkerStanding): string[] {
  const reasons: string[] = [];
  if (worker.runtime === "echo") reasons.push("simulator");
  if (worker.devMode) reasons.push("dev_mode");
  if (worker.unverified) reasons.push("failed_spot_check");
  return reasons;
}

/** Before a job runs: whether this worker's jobs can pay at all (a finished job may still not). */
export function judgeStanding(worker: WorkerStanding): Standing {
  const reasons = standingReasons(worker);
  return { payable: reasons.length === 0, reasons };
}

/** A job that did not finish (`timeout`, `worker_failed`, `client_gone`, ...) pays nothing. */
export function judgeFailedJob(reason: string, unpaidReason?: string): Standing {
  return { payable: false, reasons: [reason, ...(unpaidReason ? [unpaidReason] : [])] };
}

export function judgeJob(evidence: JobEvidence): JobVerdict {
  const reasons = standingReasons(evidence);
  if (evidence.streamedText !== evidence.reportedText) reasons.push("stream_mismatch");
  const usage = checkUsage(evidence.request, [evidence.reportedText], evidence.usage);
  if (!usage.consistent) reasons.push("usage_inconsistent");
  if (evidence.reportedText.trim() === "" || usage.bounded.completion_tokens === 0) reasons.push("empty_output");
  const seconds = Math.max(evidence.elapsedMs, 1) / 1000;
  const completion = usage.bounded.completion_tokens;
  if (completion > 16 && completion / seconds > MAX_PLAUSIBLE_TOKENS_PER_S) reasons.push("implausibly_fast");
  if (evidence.unpaidReason) reasons.push(evidence.unpaidReason);
  return { payable: reasons.length === 0, reasons, usage: usage.bounded };
}
