/**
 * Which request parameters each runtime honours. The gateway routes a job only to workers whose
 * runtime honours everything the request sets, and answers 400 naming the parameter when none
 * does; a worker refuses such a job too. docs/API.md carries the same table.
 */
import type { InferenceRequest, RuntimeName } from "./protocol.ts";

export type RequestParam = Exclude<keyof InferenceRequest, "model" | "messages">;

/** What a runtime does with a parameter a request sets: honour it, or refuse the job. */
type Honours = (request: InferenceRequest) => boolean;

const ALWAYS: Honours = () => true;
const OPENAI_COMPATIBLE: Record<RequestParam, Honours> = {
  max_tokens: ALWAYS,
  max_completion_tokens: ALWAYS,
  temperature: ALWAYS,
  top_p: ALWAYS,
  stop: ALWAYS,
  seed: ALWAYS,
  presence_penalty: ALWAYS,
  frequency_penalty: ALWAYS,
  logit_bias: ALWAYS,
  logprobs: ALWAYS,
  top_logprobs: ALWAYS,
  response_format: ALWAYS,
  tools: ALWAYS,
  tool_choice: ALWAYS,
  parallel_tool_calls: ALWAYS,
  n: ALWAYS,
  user: ALWAYS,
  reasoning_effort: ALWAYS,
};

const CAPABILITIES: Record<RuntimeName, Record<RequestParam, Honours>> = {
  vllm: OPENAI_COMPATIBLE,
  // llama-server takes every one of them (tools and tool_choice through its default --jinja templates).
  llamacpp: OPENAI_COMPATIBLE,
  openai: OPENAI_COMPATIBLE,
  ollama: {
    ...OPENAI_COMPATIBLE,
    // Ollama's native API has no logit bias and no way to force a tool call or to forbid parallel calls.
    logit_bias: (r) => Object.keys(r.logit_bias ?? {}).length === 0,
    logprobs: (r) => r.logprobs !== true,
    top_logprobs: (r) => !r.top_logprobs,
    tool_choice: (r) => r.tool_choice === "auto" || r.tool_choice === "none",
    parallel_tool_calls: (r) => r.parallel_tool_calls !== false,
  },
  // The simulator's answer is deterministic: sampling settings leave it as it is, which is what
  // temperature 0 would give; it produces no JSON, tool calls, logprobs or reasoning.
  echo: {
    ...OPENAI_COMPATIBLE,
    logit_bias: (r) => Object.keys(r.logit_bias ?? {}).length === 0,
    logprobs: (r) => r.logprobs !== true,
    top_logprobs: (r) => !r.top_logprobs,
    response_format: (r) => r.response_format?.type === "text",
    tools: (r) => (r.tools ?? []).length === 0,
    tool_choice: (r) => r.tool_choice === "auto" || r.tool_choice === "none",
    reasoning_effort: (r) => r.reasoning_effort === "none",
  },
};

/** The first parameter `runtime` cannot honour in `request`, or undefined when it honours all. */
export function unhonouredParam(runtime: RuntimeName, request: InferenceRequest): RequestParam | undefined {
  const table = CAPABILITIES[runtime];
  for (const key of Object.keys(request) as (keyof InferenceRequest)[]) {
    if (key === "model" || key === "messages" || request[key] === undefined) continue;
    if (!table[key](request)) return key;
  }
  return undefined;
}
