import { describe, expect, test } from "bun:test";
import { judgeFailedJob, judgeJob, judgeStanding } from "../../lib/core/anti-cheat.ts";

const honest = {
  runtime: "ollama",
  devMode: false,
  request: { model: "m", messages: [{ role: "user" as const, content: "What is two plus two? One word." }], max_tokens: 50 },
  streamedText: "four",
  reportedText: "four",
  usage: { prompt_tokens: 5, completion_tokens: 1 },
  elapsedMs: 100,
};
const long = "word ".repeat(4_000);

describe("judgeJob", () => {
  test("pays an honest real-runtime job, keeping its usage", () =>
    expect(judgeJob(honest)).toEqual({ payable: true, reasons: [], usage: { prompt_tokens: 5, completion_tokens: 1 } }));
  const unpaid: [string, Partial<typeof honest>, string][] = [
    ["the simulator", { runtime: "echo" }, "simulator"],
    ["a dev-mode orchestrator", { devMode: true }, "dev_mode"],
    ["a report that differs from the stream", { reportedText: "five" }, "stream_mismatch"],
    ["empty output", { streamedText: "", reportedText: "", usage: { prompt_tokens: 5, completion_tokens: 0 } }, "empty_output"],
    [
      "output faster than any GPU",
      { streamedText: long, reportedText: long, request: { ...honest.request, max_tokens: 10_000 }, usage: { prompt_tokens: 5, completion_tokens: 4_000 } },
      "implausibly_fast",
    ],
    ["more completion tokens than the text holds", { usage: { prompt_tokens: 5, completion_tokens: 16 } }, "usage_inconsistent"],
    ["more prompt tokens than the messages hold", { usage: { prompt_tokens: 9e15, completion_tokens: 1 } }, "usage_inconsistent"],
  ];
  for (const [name, change, reason] of unpaid) {
    test(`does not pay ${name}`, () => {
      const verdict = judgeJob({ ...honest, ...change });
      expect(verdict.payable).toBe(false);
      expect(verdict.reasons).toContain(reason);
    });
  }

  test("an inconsistent claim is held to the bounds in the verdict's usage", () => {
    const verdict = judgeJob({ ...honest, usage: { prompt_tokens: 9e15, completion_tokens: 5_000_000 } });
    // 4 bytes of text + 8 allowance; 31 bytes of one message + 16 per message + 512 for the template.
    expect(verdict.usage).toEqual({ prompt_tokens: 31 + 16 + 512, completion_tokens: 12 });
  });
});

describe("the one payable rule", () => {
  test("a job the network runs for itself is judged as usual and never pays", () => {
    expect(judgeJob({ ...honest, unpaidReason: "verification" })).toEqual({ payable: false, reasons: ["verification"], usage: honest.usage });
  });
  test("a worker's standing before any job: the simulator and a dev-mode orchestrator can never pay", () => {
    expect(judgeStanding({ runtime: "ollama", devMode: false })).toEqual({ payable: true, reasons: [] });
    expect(judgeStanding({ runtime: "echo", devMode: true })).toEqual({ payable: false, reasons: ["simulator", "dev_mode"] });
    // A finished job never pays where the standing does not.
    expect(judgeJob({ ...honest, runtime: "echo" }).reasons).toEqual(judgeStanding({ runtime: "echo", devMode: false }).reasons);
  });
  test("a job that did not finish pays nothing, and says why", () => {
    expect(judgeFailedJob("timeout")).toEqual({ payable: false, reasons: ["timeout"] });
    expect(judgeFailedJob("worker_failed", "verification")).toEqual({ payable: false, reasons: ["worker_failed", "verification"] });
  });
});
