import { describe, expect, test } from "bun:test";
import { parseChatCompletionBody } from "../../lib/core/chat-request.ts";

const base = { model: "basis-default", messages: [{ role: "user", content: "hi" }] };

describe("parseChatCompletionBody", () => {
  test("normalises text parts, a stop string and the stream flags", () => {
    const result = parseChatCompletionBody({
      ...base,
      messages: [{ role: "developer", content: "brief" }, { role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }],
      stop: "END",
      n: 1,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(result).toEqual({
      ok: true,
      call: {
        request: { model: "basis-default", messages: [{ role: "developer", content: "brief" }, { role: "user", content: "a\nb" }], stop: ["END"] },
        stream: true,
        includeUsage: true,
      },
    });
  });

  test("keeps an assistant tool-call turn (null content) and the tool's answer", () => {
    const call = { id: "call_1", type: "function" as const, function: { name: "f", arguments: "{}" } };
    const result = parseChatCompletionBody({
      ...base,
      messages: [...base.messages, { role: "assistant", content: null, tool_calls: [call] }, { role: "tool", tool_call_id: "call_1", content: "42" }],
    });
    expect(result.ok && result.call.request.messages.slice(1)).toEqual([
      { role: "assistant", content: "", tool_calls: [call] },
      { role: "tool", tool_call_id: "call_1", content: "42" },
    ]);
  });

  test.each([
    [{ functions: [] }, "unsupported_parameter", "functions"],
    [{ n: 3 }, "unsupported_parameter", "n"],
    [{ messages: [{ role: "user", content: [{ type: "input_audio", input_audio: {} }] }] }, "unsupported_parameter", "messages.0.content.0.type"],
    [{ top_logprobs: 3 }, "invalid_request", "top_logprobs"],
    [{ temperature: 3 }, "invalid_request", "temperature"],
    [{ messages: [{ role: "robot", content: "x" }] }, "invalid_request", "messages.0.role"],
    [{ response_format: { type: "yaml" } }, "invalid_request", "response_format.type"],
    [{ tool_choice: "sometimes" }, "invalid_request", "tool_choice"],
  ])("refuses %j with %s naming %s", (extra, code, param) => {
    const result = parseChatCompletionBody({ ...base, ...extra });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.refusal).toMatchObject({ code, param });
  });
});
