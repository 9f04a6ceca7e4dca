/**
 * The orchestrator's verdict on a finished job. Its `payable` is authoritative: the simulator,
 * a dev-mode orchestrator, a worker that failed its last spot check, output faster than any
 * real GPU, a mismatch between what was
 * streamed and what was reported, or usage above what the request and the text can hold
 * (lib/core/usage-bounds.ts) never pay. The verdict's `usage` is what the ledger may take.
 */
import type { InferenceRequest, Usage } from "./protocol.ts";
import { checkUsage } from "./usage-bounds.ts";

/** Single-stream decode rates above this are not produced by real hardware today. */
export const MAX_PLAUSIBLE_TOKENS_PER_S = 5_000;

/** Reasons that are the worker's doing: each one counts against it (halves its capacity). */
export const MISCONDUCT_REASONS: ReadonlySet<string> = new Set(["stream_mismatch", "usage_inconsistent", "implausibly_fast"]);

export interface JobEvidence {
  runtime: string;
  devMode: boolean;
  request: InferenceRequest;
  streamedText: string;
  reportedText: string;
  usage: Usage;
  elapsedMs: number;
  /** The worker failed its last spot check and has not passed one since (docs/SPOT-CHECKS.md). */
  unverified?: boolean;
}

export interface JobVerdict {
  payable: boolean;
  reasons: string[];
  /** The claimed usage where it is within bounds, else the bounds. */
  usage: Usage;
}

export function judgeJob(evidence: JobEvidence): JobVerdict {
  const reasons: string[] = [];
  if (evidence.runtime === "echo") reasons.push("simulator");
  if (evidence.devMode) reasons.push("dev_mode");
  if (evidence.unverified) reasons.push("failed_spot_check");
  if (evidence.streamedText !== evidence.reportedText) reasons.push("stream_mismatch");
  const usage = checkUsage(evidence.request, [evidence.reportedText], evidence.usage);
  if (!usage.consistent) reasons.push("usage_inconsistent");
  if (evidence.reportedText.trim() === "" || usage.bounded.completion_tokens === 0) reasons.push("empty_output");
  const seconds = Math.max(evidence.elapsedMs, 1) / 1000;
  const completion = usage.bounded.completion_tokens;
  if (completion > 16 && completion / seconds > MAX_PLAUSIBLE_TOKENS_PER_S) reasons.push("implausibly_fast");
  return { payable: reasons.length === 0, reasons, usage: usage.bounded };
}
