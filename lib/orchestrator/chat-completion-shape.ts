/**
 * A finished or streaming job in OpenAI's chat-completions shapes: `chat.completion` for whole
 * answers, `chat.completion.chunk` deltas for streams (vLLM's `reasoning_content` for reasoning).
 */
import { type AnswerOf, type ChatCompletionSchema, usageTotals } from "../core/api-contract.ts";
import type { JobChunk, JobDone } from "../core/protocol.ts";

/** OpenAI's `usage`: the contract's one total. */
export const usageBody = usageTotals;

export function completionBody(jobId: string, model: string, done: JobDone, wantLogprobs: boolean): AnswerOf<typeof ChatCompletionSchema> {
  const toolCalls = done.tool_calls ?? [];
  return {
    id: `chatcmpl-${jobId}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          // OpenAI sends null content when the model only called tools.
          content: done.text === "" && toolCalls.length > 0 ? null : done.text,
          ...(done.reasoning ? { reasoning_content: done.reasoning } : {}),
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: wantLogprobs ? { content: done.logprobs ?? [] } : null,
        finish_reason: done.finish_reason,
      },
    ],
    usage: usageBody(done.usage),
  };
}

/** The `choices[0]` of a stream chunk carrying a worker's delta. */
export function deltaChoice(chunk: JobChunk) {
  return {
    index: 0,
    delta: {
      ...(chunk.delta ? { content: chunk.delta } : {}),
      ...(chunk.reasoning ? { reasoning_content: chunk.reasoning } : {}),
      ...(chunk.tool_calls?.length ? { tool_calls: chunk.tool_calls } : {}),
    },
    logprobs: chunk.logprobs?.length ? { content: chunk.logprobs } : null,
    finish_reason: null,
  };
}
