/**
 * What a job's usage can honestly be, from what the orchestrator itself saw: the request it
 * sent and the text the worker returned. A token of any real tokenizer decodes to at least one
 * UTF-8 byte, except a few that leave no text (the end token, a matched stop string, tool-call
 * markers), so the bytes bound the tokens. A claim above these bounds is not payable
 * (`usage_inconsistent`) and the ledger keeps the bounded counts, never the claim.
 * The numbers are in docs/PROTOCOL.md ("Usage bounds"); change both together.
 */
import type { InferenceRequest, Usage } from "./protocol.ts";

/** Completion tokens that may leave no text: end/stop tokens, tool-call markers. */
export const COMPLETION_ALLOWANCE_TOKENS = 8;
/** Prompt tokens a chat template may add around each message (role headers, separators). */
export const PROMPT_PER_MESSAGE_ALLOWANCE_TOKENS = 16;
/** Prompt tokens a chat template may add once (BOS, a default system preamble, the reply header). */
export const PROMPT_TEMPLATE_ALLOWANCE_TOKENS = 512;
/** Bytes a single token may decode to at most, for the per-job text cap (long runs of spaces, code). */
export const MAX_BYTES_PER_TOKEN = 64;
/** Text per job is capped at max_tokens x MAX_BYTES_PER_TOKEN plus this slack, and never above JOB_TEXT_CAP_BYTES. */
export const JOB_TEXT_SLACK_BYTES = 4_096;
export const JOB_TEXT_CAP_BYTES = 2 * 1024 * 1024;


export function utf8Bytes(text: string): number {
  // Counting without encoding: an encode of a 2 MB string would allocate 2 MB more.
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** The most text (UTF-8 bytes: content, reasoning and tool-call arguments together) one job may return. */
export function jobTextCapBytes(request: Pick<InferenceRequest, "max_tokens" | "max_completion_tokens">): number {
  const limit = request.max_completion_tokens ?? request.max_tokens;
  if (limit === undefined) return JOB_TEXT_CAP_BYTES;
  return Math.min(JOB_TEXT_CAP_BYTES, limit * MAX_BYTES_PER_TOKEN + JOB_TEXT_SLACK_BYTES);
}

export interface UsageBounds {
  prompt_tokens: number;
  completion_tokens: number;
}

/**
 * The largest honest usage for a request and the text returned for it. `returned` is every
 * piece of text the worker returned (answer, reasoning, tool-call arguments), so an honest
 * reasoning model is not flagged.
 */
export function usageBounds(request: InferenceRequest, returned: readonly string[]): UsageBounds {
  const messageBytes = request.messages.reduce((sum, m) => sum + utf8Bytes(m.content), 0);
  const prompt = messageBytes + request.messages.length * PROMPT_PER_MESSAGE_ALLOWANCE_TOKENS + PROMPT_TEMPLATE_ALLOWANCE_TOKENS;
  // A matched stop string is generated but not returned.
  const stopBytes = Math.max(0, ...(request.stop ?? []).map((s) => utf8Bytes(s)));
  const textBytes = returned.reduce((sum, t) => sum + utf8Bytes(t), 0);
  let completion = textBytes + COMPLETION_ALLOWANCE_TOKENS + stopBytes;
  const limit = request.max_completion_tokens ?? request.max_tokens;
  if (limit !== undefined) completion = Math.min(completion, limit);
  return { prompt_tokens: prompt, completion_tokens: completion };
}

export interface UsageCheck {
  consistent: boolean;
  /** The usage the ledger may take: the claim where it is within bounds, else the bound. */
  bounded: Usage;
}

export function checkUsage(request: InferenceRequest, returned: readonly string[], claimed: Usage): UsageCheck {
  const bounds = usageBounds(request, returned);
  const consistent = claimed.prompt_tokens <= bounds.prompt_tokens && claimed.completion_tokens <= bounds.completion_tokens;
  return {
    consistent,
    bounded: {
      prompt_tokens: Math.min(claimed.prompt_tokens, bounds.prompt_tokens),
      completion_tokens: Math.min(claimed.completion_tokens, bounds.completion_tokens),
    },
  };
}
