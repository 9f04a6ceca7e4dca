import { describe, expect, test } from "bun:test";
import { judgeFailedJob, judgeJob, judgeStanding } from "../../lib/core/anti-cheat.ts";

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

describe("the one payable rule", () => {
  test("a job the network runs for itself is judged as usual and never pays", () => {
    expect(judgeJob({ ...honest, unpaidReason: "verification" })).toEqual({ payable: false, reasons: ["verification"] });
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
