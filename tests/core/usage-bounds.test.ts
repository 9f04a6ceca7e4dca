import { describe, expect, test } from "bun:test";
import type { InferenceRequest } from "../../lib/core/protocol.ts";
import {
  checkUsage,
  COMPLETION_ALLOWANCE_TOKENS,
  JOB_TEXT_CAP_BYTES,
  jobTextCapBytes,
  PROMPT_PER_MESSAGE_ALLOWANCE_TOKENS,
  PROMPT_TEMPLATE_ALLOWANCE_TOKENS,
  usageBounds,
  utf8Bytes,
} from "../../lib/core/usage-bounds.ts";

const request: InferenceRequest = {
  model: "m",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "héllo 世界 🙂" },
  ],
  max_tokens: 100,
};

describe("utf8Bytes", () => {
  for (const text of ["", "abc", "héllo", "世界", "🙂", "a\u{10FFFF}b", "\uD800 lone", "mixed ÿ 𝄞 text"]) {
    test(`counts ${JSON.stringify(text)} like TextEncoder`, () => expect(utf8Bytes(text)).toBe(new TextEncoder().encode(text).length));
  }
});

describe("usageBounds", () => {
  test("prompt: message bytes plus per-message and template allowances", () => {
    const bytes = utf8Bytes("Be brief.") + utf8Bytes("héllo 世界 🙂");
    expect(usageBounds(request, []).prompt_tokens).toBe(bytes + 2 * PROMPT_PER_MESSAGE_ALLOWANCE_TOKENS + PROMPT_TEMPLATE_ALLOWANCE_TOKENS);
  });
  test("completion: every returned text's bytes plus the allowance", () =>
    expect(usageBounds(request, ["ab", "世"]).completion_tokens).toBe(2 + 3 + COMPLETION_ALLOWANCE_TOKENS));
  test("completion: a stop string that may have been matched counts too", () =>
    expect(usageBounds({ ...request, stop: ["END", "</answer>"] }, ["ab"]).completion_tokens).toBe(2 + COMPLETION_ALLOWANCE_TOKENS + 9));
  test("completion: never above max_tokens", () => expect(usageBounds({ ...request, max_tokens: 3 }, ["a long answer"]).completion_tokens).toBe(3));
});

describe("checkUsage", () => {
  test("an honest claim is kept as is", () =>
    expect(checkUsage(request, ["Hi there"], { prompt_tokens: 20, completion_tokens: 3 })).toEqual({
      consistent: true,
      bounded: { prompt_tokens: 20, completion_tokens: 3 },
    }));
  test("a reasoning model's tokens are bounded by its reasoning text too", () => {
    const reasoning = "Let me think about this step by step. ".repeat(10);
    expect(checkUsage(request, ["Hi", reasoning], { prompt_tokens: 20, completion_tokens: 90 }).consistent).toBe(true);
    expect(checkUsage(request, ["Hi"], { prompt_tokens: 20, completion_tokens: 90 }).consistent).toBe(false);
  });
  test("a claim past the bounds is inconsistent and held to them", () => {
    const check = checkUsage(request, ["x"], { prompt_tokens: 2 ** 31 - 1, completion_tokens: 16 });
    expect(check.consistent).toBe(false);
    expect(check.bounded).toEqual({ prompt_tokens: usageBounds(request, []).prompt_tokens, completion_tokens: 1 + COMPLETION_ALLOWANCE_TOKENS });
  });
});

describe("jobTextCapBytes", () => {
  test("derives from max_tokens", () => expect(jobTextCapBytes({ max_tokens: 10 })).toBe(10 * 64 + 4096));
  test("is never above the hard cap", () => expect(jobTextCapBytes({ max_tokens: 1_000_000 })).toBe(JOB_TEXT_CAP_BYTES));
  test("without max_tokens is the hard cap", () => expect(jobTextCapBytes({})).toBe(JOB_TEXT_CAP_BYTES));
});
