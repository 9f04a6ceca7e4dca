/**
 * The orchestrator's verdict on a finished job. Its `payable` is authoritative: the simulator,
 * a dev-mode orchestrator, output faster than any real GPU, or a mismatch between what was
 * streamed and what was reported never pay.
 */
import type { Usage } from "./protocol.ts";

/** Single-stream decode rates above this are not produced by real hardware today. */
export const MAX_PLAUSIBLE_TOKENS_PER_S = 5_000;

export interface JobEvidence {
  runtime: string;
  devMode: boolean;
  streamedText: string;
  reportedText: string;
  usage: Usage;
  elapsedMs: number;
}

export interface JobVerdict {
  payable: boolean;
  reasons: string[];
}

export function judgeJob(evidence: JobEvidence): JobVerdict {
  const reasons: string[] = [];
  if (evidence.runtime === "echo") reasons.push("simulator");
  if (evidence.devMode) reasons.push("dev_mode");
  if (evidence.streamedText !== evidence.reportedText) reasons.push("stream_mismatch");
  if (evidence.reportedText.trim() === "" || evidence.usage.completion_tokens === 0) reasons.push("empty_output");
  const seconds = Math.max(evidence.elapsedMs, 1) / 1000;
  if (evidence.usage.completion_tokens > 16 && evidence.usage.completion_tokens / seconds > MAX_PLAUSIBLE_TOKENS_PER_S) {
    reasons.push("implausibly_fast");
  }
  return { payable: reasons.length === 0, reasons };
}
