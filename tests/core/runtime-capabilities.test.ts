import { describe, expect, test } from "bun:test";
import type { InferenceRequest } from "../../lib/core/protocol.ts";
import { unhonouredParam } from "../../lib/core/runtime-capabilities.ts";

const base: InferenceRequest = { model: "m", messages: [{ role: "user", content: "hi" }] };
const tools = [{ type: "function" as const, function: { name: "f" } }];

describe("unhonouredParam", () => {
  test.each([
    ["vllm", { logprobs: true, top_logprobs: 2, logit_bias: { "1": 1 }, tools, tool_choice: "required", parallel_tool_calls: false }, undefined],
    ["ollama", { tools, tool_choice: "auto", response_format: { type: "json_object" }, reasoning_effort: "high" }, undefined],
    ["ollama", { logprobs: true }, "logprobs"],
    ["ollama", { tools, tool_choice: "required" }, "tool_choice"],
    ["ollama", { parallel_tool_calls: false }, "parallel_tool_calls"],
    ["ollama", { logprobs: false, max_completion_tokens: 4 }, undefined],
    ["echo", { max_tokens: 3, stop: ["x"], seed: 1, temperature: 0.5 }, undefined],
    ["echo", { response_format: { type: "json_object" } }, "response_format"],
    ["echo", { tools }, "tools"],
  ] as const)("%s with %j -> %s", (runtime, extra, expected) => {
    expect(unhonouredParam(runtime, { ...base, ...(extra as Partial<InferenceRequest>) })).toBe(expected);
  });
});
