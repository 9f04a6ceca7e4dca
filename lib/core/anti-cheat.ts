/**
 * The orchestrator's verdict on a job: the one place that decides "payable". Its `payable` is
 * authoritative and everything else (the ledger, the x-basis-payable header, the welcome's
 * `payable`) reads it: the simulator, a dev-mode orchestrator, output faster than any real GPU,
 * a mismatch between what was streamed and what was reported, a failed job, or one the network
 * runs for itself (the verification job) never pay.
 */
import type { Usage } from "./protocol.ts";

/** Single-stream decode rates above this are not produced by real hardware today. */
export const MAX_PLAUSIBLE_TOKENS_PER_S = 5_000;

/** Who serves the job, known before it runs. */
export interface WorkerStanding {
  runtime: string;
  devMode: boolean;
}

export interface JobEvidence extends WorkerStanding {
  streamedText: string;
  reportedText: string;
  usage: Usage;
  elapsedMs: number;
  /** The job is the network's own (e.g. `verification`): recorded, never paid. */
  unpaidReason?: string | undefined;
}

export interface JobVerdict {
  payable: boolean;
  reasons: string[];
}

/** Reasons a worker's jobs cannot pay whatever they produce: the simulator, a dev-mode orchestrator. */
function standingReasons(worker: WorkerStanding): string[] {
  const reasons: string[] = [];
  if (worker.runtime === "echo") reasons.push("simulator");
  if (worker.devMode) reasons.push("dev_mode");
  return reasons;
}

/** Before a job runs: whether this worker's jobs can pay at all (a finished job may still not). */
export function judgeStanding(worker: WorkerStanding): JobVerdict {
  const reasons = standingReasons(worker);
  return { payable: reasons.length === 0, reasons };
}

/** A job that did not finish (`timeout`, `worker_failed`) pays nothing. */
export function judgeFailedJob(reason: string, unpaidReason?: string): JobVerdict {
  return { payable: false, reasons: [reason, ...(unpaidReason ? [unpaidReason] : [])] };
}

export function judgeJob(evidence: JobEvidence): JobVerdict {
  const reasons = standingReasons(evidence);
  if (evidence.streamedText !== evidence.reportedText) reasons.push("stream_mismatch");
  if (evidence.reportedText.trim() === "" || evidence.usage.completion_tokens === 0) reasons.push("empty_output");
  const seconds = Math.max(evidence.elapsedMs, 1) / 1000;
  if (evidence.usage.completion_tokens > 16 && evidence.usage.completion_tokens / seconds > MAX_PLAUSIBLE_TOKENS_PER_S) {
    reasons.push("implausibly_fast");
  }
  if (evidence.unpaidReason) reasons.push(evidence.unpaidReason);
  return { payable: reasons.length === 0, reasons };
}
