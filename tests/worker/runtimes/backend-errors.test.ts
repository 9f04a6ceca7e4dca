import { describe, expect, test } from "bun:test";
import { BasisError } from "../../../lib/core/errors.ts";
import { createRunGuard, extractErrorMessage, readErrorBody } from "../../../lib/worker/runtimes/backend-errors.ts";

describe("extractErrorMessage", () => {
  test.each([
    ["Ollama's string error", { error: "model 'x' not found" }, "model 'x' not found"],
    ["vLLM 0.10.1+ nested error", { error: { message: "bad", type: "BadRequestError", code: 400 } }, "bad"],
    ["older vLLM flat error", { object: "error", message: "flat bad", type: "BadRequestError", code: 400 }, "flat bad"],
    ["a normal chunk", { done: false, message: { content: "hi" } }, undefined],
    ["a non-object", "text", undefined],
    ["null", null, undefined],
  ])("reads %s", (_, payload, expected) => {
    expect(extractErrorMessage(payload)).toBe(expected);
  });
});

describe("readErrorBody", () => {
  test("prefers the JSON error message, then the text, then the status", async () => {
    expect(await readErrorBody(new Response(JSON.stringify({ error: { message: "nope" } }), { status: 400 }))).toBe("nope");
    expect(await readErrorBody(new Response("plain\n  failure", { status: 500 }))).toBe("plain failure");
    expect(await readErrorBody(new Response("", { status: 502, statusText: "Bad Gateway" }))).toBe("HTTP 502 Bad Gateway");
  });
});

describe("createRunGuard", () => {
  const reasonOf = (signal: AbortSignal) => (signal.reason as BasisError).code;
  /** The guard's own abort event, however late the machine delivers it. */
  const aborted = (signal: AbortSignal) => new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));

  test("aborts with first_token_timeout when no token comes in time", async () => {
    const guard = createRunGuard({ signal: new AbortController().signal, firstTokenTimeoutMs: 20, totalTimeoutMs: 1_000 });
    await aborted(guard.signal);
    expect(reasonOf(guard.signal)).toBe("first_token_timeout");
    guard.dispose();
  });

  test("stops the first-token clock once a token came, leaving the total timeout", async () => {
    // The first-token clock (20 ms) would fire long before the total (60 ms): the reason tells which one did.
    const guard = createRunGuard({ signal: new AbortController().signal, firstTokenTimeoutMs: 20, totalTimeoutMs: 60 });
    guard.gotFirstToken();
    await aborted(guard.signal);
    expect(reasonOf(guard.signal)).toBe("job_timeout");
    guard.dispose();
  });

  test("aborts with job_cancelled when the job's signal aborts, even before it started", () => {
    const controller = new AbortController();
    controller.abort("deadline passed");
    const guard = createRunGuard({ signal: controller.signal, firstTokenTimeoutMs: 1_000, totalTimeoutMs: 1_000 });
    expect(reasonOf(guard.signal)).toBe("job_cancelled");
    expect((guard.signal.reason as BasisError).message).toBe("The job was cancelled: deadline passed");
    guard.dispose();
  });

  test("reports the abort reason over whatever fetch threw, else the error or the fallback", () => {
    const controller = new AbortController();
    const guard = createRunGuard({ signal: controller.signal, firstTokenTimeoutMs: 1_000, totalTimeoutMs: 1_000 });
    const fallback = () => new BasisError("fallback", "f");
    expect(guard.failure(new TypeError("x"), fallback).code).toBe("fallback");
    expect(guard.failure(new BasisError("own", "o"), fallback).code).toBe("own");
    controller.abort();
    expect(guard.failure(new DOMException("aborted", "AbortError"), fallback).code).toBe("job_cancelled");
    guard.dispose();
  });

  test("stops listening and timing after dispose", async () => {
    const controller = new AbortController();
    const guard = createRunGuard({ signal: controller.signal, firstTokenTimeoutMs: 10, totalTimeoutMs: 10 });
    guard.dispose();
    controller.abort();
    // Timers fire in deadline order: by the time one due after the guard's (10 ms) fires, theirs would have.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(guard.signal.aborted).toBe(false);
  });
});
