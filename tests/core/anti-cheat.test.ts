import { describe, expect, test } from "bun:test";
import { judgeJob } from "../../lib/core/anti-cheat.ts";

const honest = {
  runtime: "ollama",
  devMode: false,
  streamedText: "four",
  reportedText: "four",
  usage: { prompt_tokens: 5, completion_tokens: 1 },
  elapsedMs: 100,
};

describe("judgeJob", () => {
  test("pays an honest real-runtime job", () => expect(judgeJob(honest)).toEqual({ payable: true, reasons: [] }));
  const unpaid: [string, Partial<typeof honest>, string][] = [
    ["the simulator", { runtime: "echo" }, "simulator"],
    ["a dev-mode orchestrator", { devMode: true }, "dev_mode"],
    ["a report that differs from the stream", { reportedText: "five" }, "stream_mismatch"],
    ["empty output", { streamedText: "", reportedText: "", usage: { prompt_tokens: 5, completion_tokens: 0 } }, "empty_output"],
    ["output faster than any GPU", { usage: { prompt_tokens: 5, completion_tokens: 10_000 }, elapsedMs: 100 }, "implausibly_fast"],
  ];
  for (const [name, change, reason] of unpaid) {
    test(`does not pay ${name}`, () => {
      const verdict = judgeJob({ ...honest, ...change });
      expect(verdict.payable).toBe(false);
      expect(verdict.reasons).toContain(reason);
    });
  }
});
