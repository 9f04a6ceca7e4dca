import { describe, expect, test } from "bun:test";
import { logSafe, publicFailure } from "../../lib/core/worker-failure.ts";

describe("publicFailure", () => {
  test.each([
    ["backend_unreachable", "backend_error"],
    ["backend_auth_failed", "backend_error"],
    ["first_token_timeout", "backend_timeout"],
    ["model_not_found", "model_unavailable"],
    ["worker_disconnected", "worker_disconnected"],
    ["job_cancelled", "job_cancelled"],
    ["ECONNREFUSED 10.0.0.7:11434", "worker_error"],
    ["__proto__", "worker_error"],
    ["constructor", "worker_error"],
  ])("maps the worker code %s to %s", (workerCode, code) => {
    expect(publicFailure(workerCode).code).toBe(code);
  });

  test("every message comes from the fixed set and never from the worker", () => {
    const messages = new Set(["backend_error", "job_timeout", "model_missing", "worker_disconnected", "job_cancelled", "x"].map((c) => publicFailure(c).message));
    expect(messages.size).toBe(6);
    for (const message of messages) expect(message).toMatch(/^The (worker|job)\b[^:]*\.$/);
  });
});

describe("logSafe", () => {
  test("flattens control characters and line breaks so worker text stays one log line", () => {
    expect(logSafe("a\nb\r\n\u001b[31mc\u2028d")).toBe("a b [31mc d");
  });

  test("bounds the length", () => {
    expect(logSafe("x".repeat(1000), 10)).toBe(`${"x".repeat(10)}...`);
  });
});
