import { describe, expect, test } from "bun:test";
import { formatJsonLogLine, formatLogLine } from "../../lib/io/logger.ts";

describe("formatLogLine", () => {
  const date = new Date("2026-11-25T12:00:00.000Z");
  test("writes time, tag, level label and message on one line", () => {
    expect(formatLogLine({ date, tag: "worker", type: "warn", args: ["backend down"] })).toBe("2026-11-25T12:00:00.000Z [worker] WARN backend down");
    expect(formatLogLine({ date, tag: "worker", type: "info", args: ["heartbeat:", "idle"] })).toBe("2026-11-25T12:00:00.000Z [worker] heartbeat: idle");
  });
  test("prints an error by its message, structured fields as key=value and other values as JSON", () => {
    expect(formatLogLine({ date, tag: "", type: "error", args: [new Error("boom"), { n: 1, s: "x" }, [2]] })).toBe("2026-11-25T12:00:00.000Z ERROR boom n=1 s=x [2]");
  });
});

describe("formatJsonLogLine", () => {
  test("writes one JSON object with time, level, tag, message and the structured fields", () => {
    const date = new Date("2026-11-25T12:00:00.000Z");
    const line = formatJsonLogLine({ date, tag: "orchestrator", type: "info", args: ["job", { job_id: "job_1", output_tokens: 3 }] });
    expect(JSON.parse(line)).toEqual({ time: "2026-11-25T12:00:00.000Z", level: "info", tag: "orchestrator", msg: "job", job_id: "job_1", output_tokens: 3 });
  });
});
