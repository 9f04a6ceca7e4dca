import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { InferenceRequest } from "../../../lib/core/protocol.ts";
import { OpenAICompatibleRuntime, type OpenAICompatibleRuntimeOptions } from "../../../lib/worker/runtimes/openai-compatible.ts";
import type { FakeModelScript } from "../../fakes/fake-stream.ts";
import { type FakeVllm, startFakeVllm } from "../../fakes/fake-vllm.ts";
import { catchFailure, startDeadUrl, waitForAborts } from "../../fakes/helpers.ts";

const API_KEY = "sk-test-5f2c9e7a1b";
const MODEL = "meta-llama/Llama-3.2-1B-Instruct";
const TOKENS = ["Hel", "lo", ", wö", "rld ", "🌍", "."];
const ANSWER = TOKENS.join("");
const request = (extra: Partial<InferenceRequest> = {}): InferenceRequest => ({
  model: "basis-default",
  messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Say hello" }],
  ...extra,
});

const SCRIPTS: Record<string, FakeModelScript> = {
  [MODEL]: { tokens: TOKENS, promptTokens: 17 },
  split: { tokens: TOKENS, pattern: "split", splitBytes: 4 },
  coalesced: { tokens: TOKENS, pattern: "coalesce" },
  "no-usage": { tokens: TOKENS, omitMetrics: true },
  long: { tokens: TOKENS, finish: "length" },
  broken: { tokens: TOKENS, errorAfterTokens: 2, errorMessage: `Engine loop has died (key ${API_KEY})` },
  cut: { tokens: TOKENS, endAfterTokens: 3 },
  silent: { tokens: TOKENS, silent: true },
  slow: { tokens: TOKENS, tokenDelayMs: 150 },
};

async function runCollecting(runtime: OpenAICompatibleRuntime, req = request(), signal = new AbortController().signal) {
  const deltas: string[] = [];
  const result = await runtime.run(req, { signal, onDelta: (d) => deltas.push(d.content ?? "") });
  return { result, deltas };
}

let nested: FakeVllm;
let flat: FakeVllm;
const vllm = (model: string, extra: Partial<OpenAICompatibleRuntimeOptions> = {}) =>
  new OpenAICompatibleRuntime({ name: "vllm", baseUrl: nested.url, model, apiKey: API_KEY, advertised: ["basis-default"], ...extra });

beforeAll(() => {
  nested = startFakeVllm({ models: SCRIPTS, apiKey: API_KEY, errorShape: "nested" });
  flat = startFakeVllm({ models: SCRIPTS, errorShape: "flat" });
});
afterAll(async () => {
  await nested.close();
  await flat.close();
});

describe("OpenAICompatibleRuntime.run", () => {
  test("streams the exact answer with the server's usage and finish reason", async () => {
    const { result, deltas } = await runCollecting(vllm(MODEL));
    expect(deltas).toEqual(TOKENS);
    expect(result).toEqual({ text: ANSWER, finish_reason: "stop", usage: { prompt_tokens: 17, completion_tokens: TOKENS.length } });
  });

  test("posts a streamed chat with usage included, the sampling options and a Bearer key", async () => {
    await runCollecting(vllm(MODEL), request({ max_tokens: 64, temperature: 0.5, top_p: 0.8, stop: ["END"], seed: 3 }));
    const sent = nested.requests.at(-1);
    expect(sent).toMatchObject({
      method: "POST",
      path: "/v1/chat/completions",
      body: { model: MODEL, stream: true, stream_options: { include_usage: true }, max_tokens: 64, temperature: 0.5, top_p: 0.8, stop: ["END"], seed: 3 },
    });
    expect(sent?.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  test.each([["split"], ["coalesced"]])("reads the same answer when events are %s", async (model) => {
    const { result, deltas } = await runCollecting(vllm(model));
    expect(result.text).toBe(ANSWER);
    expect(deltas.join("")).toBe(ANSWER);
  });

  test("reports length when max_tokens cuts the answer", async () => {
    const { result } = await runCollecting(vllm(MODEL), request({ max_tokens: 3 }));
    expect(result).toMatchObject({ text: "Hello, wö", finish_reason: "length", usage: { completion_tokens: 3 } });
  });

  test("keeps finish_reason length from the server", async () => {
    expect((await runCollecting(vllm("long"))).result.finish_reason).toBe("length");
  });

  test("counts 0 tokens when the server sends no usage chunk", async () => {
    const { result } = await runCollecting(vllm("no-usage"));
    expect(result).toMatchObject({ text: ANSWER, usage: { prompt_tokens: 0, completion_tokens: 0 } });
  });

  test.each([
    ["nested (vLLM 0.10.1+)", () => nested.url],
    ["flat (older vLLM)", () => flat.url],
  ])("fails with backend_error on a %s error event mid-stream, never showing the key", async (_, url) => {
    const deltas: string[] = [];
    const error = await catchFailure(vllm("broken", { baseUrl: url() }).run(request(), { signal: new AbortController().signal, onDelta: (d) => deltas.push(d.content ?? "") }));
    expect(error).toMatchObject({ code: "backend_error" });
    expect(error.message).toContain("Engine loop has died");
    expect(error.message).not.toContain(API_KEY);
    expect(deltas).toEqual(TOKENS.slice(0, 2));
  });

  test("fails with backend_stream_ended when the stream stops without a finish reason", async () => {
    expect(await catchFailure(runCollecting(vllm("cut")))).toMatchObject({ code: "backend_stream_ended" });
  });

  test.each([
    ["nested", () => nested.url],
    ["flat", () => flat.url],
  ])("fails with model_not_found naming the model on a %s 404", async (_, url) => {
    const error = await catchFailure(runCollecting(vllm("mistralai/Mistral-7B", { baseUrl: url() })));
    expect(error).toMatchObject({ code: "model_not_found" });
    expect(error.message).toContain('"mistralai/Mistral-7B"');
    expect(error.message).toContain("does not exist");
    expect(error.hint).toContain("--model mistralai/Mistral-7B");
  });

  test("fails with backend_auth_failed on a wrong key, without showing either key", async () => {
    const error = await catchFailure(runCollecting(vllm(MODEL, { apiKey: "sk-wrong-key-0000" })));
    expect(error).toMatchObject({ code: "backend_auth_failed" });
    expect(error.hint).toContain("BASIS_VLLM_API_KEY");
    expect(`${error.message} ${error.hint}`).not.toContain("sk-wrong-key-0000");
  });

  test("fails with backend_unreachable naming the URL", async () => {
    const url = await startDeadUrl();
    const error = await catchFailure(runCollecting(vllm(MODEL, { baseUrl: url })));
    expect(error).toMatchObject({ code: "backend_unreachable" });
    expect(error.message).toContain(url);
  });

  test("fails with first_token_timeout when no token comes, and closes the request", async () => {
    const before = nested.aborts;
    const error = await catchFailure(runCollecting(vllm("silent", { firstTokenTimeoutMs: 150 })));
    expect(error).toMatchObject({ code: "first_token_timeout" });
    expect(await waitForAborts(nested, before + 1)).toBe(before + 1);
  });

  test("fails with job_timeout when the whole answer takes too long", async () => {
    const before = nested.aborts;
    const error = await catchFailure(runCollecting(vllm("slow", { totalTimeoutMs: 400 })));
    expect(error).toMatchObject({ code: "job_timeout" });
    expect(await waitForAborts(nested, before + 1)).toBe(before + 1);
  });

  test("rejects with job_cancelled at once when the signal aborts, and the server sees the client leave", async () => {
    const before = nested.aborts;
    const controller = new AbortController();
    // At once: no token after the first reaches the caller once the signal aborts.
    let deltas = 0;
    const running = vllm("slow").run(request(), {
      signal: controller.signal,
      onDelta: () => {
        deltas++;
        controller.abort();
      },
    });
    const error = await catchFailure(running);
    expect(error).toMatchObject({ code: "job_cancelled", message: "The job was cancelled." });
    expect(deltas).toBe(1);
    expect(await waitForAborts(nested, before + 1)).toBe(before + 1);
  });

  test("accepts a base URL that already ends in /v1", async () => {
    const runtime = new OpenAICompatibleRuntime({ name: "openai", baseUrl: `${flat.url}/v1/`, model: MODEL });
    expect((await runCollecting(runtime)).result.text).toBe(ANSWER);
    expect(flat.requests.at(-1)?.path).toBe("/v1/chat/completions");
    expect(flat.requests.at(-1)?.headers.authorization).toBeUndefined();
  });
});

describe("OpenAICompatibleRuntime.check", () => {
  test("passes for vllm when /health is up and /v1/models lists the model", async () => {
    await vllm(MODEL).check();
    expect(nested.requests.slice(-2).map((r) => r.path)).toEqual(["/health", "/v1/models"]);
  });

  test("fails with model_missing naming what the server serves", async () => {
    const error = await catchFailure(vllm("Qwen/Qwen2.5-7B").check());
    expect(error).toMatchObject({ code: "model_missing" });
    expect(error.hint).toContain("--model Qwen/Qwen2.5-7B");
    expect(error.hint).toContain(MODEL);
  });

  test("fails with backend_unhealthy when vLLM's /health answers 503", async () => {
    nested.setHealthy(false);
    try {
      expect(await catchFailure(vllm(MODEL).check())).toMatchObject({ code: "backend_unhealthy" });
    } finally {
      nested.setHealthy(true);
    }
  });

  test("checks only /v1/models for the openai runtime", async () => {
    const runtime = new OpenAICompatibleRuntime({ name: "openai", baseUrl: nested.url, model: MODEL, apiKey: API_KEY });
    await runtime.check();
    expect(nested.requests.at(-1)?.path).toBe("/v1/models");
    const error = await catchFailure(new OpenAICompatibleRuntime({ name: "openai", baseUrl: nested.url, model: "gpt-x", apiKey: API_KEY }).check());
    expect(error).toMatchObject({ code: "model_missing" });
    expect(error.hint).toContain("BASIS_OPENAI_MODEL");
  });

  test("fails with backend_auth_failed on a wrong key for the openai runtime", async () => {
    const runtime = new OpenAICompatibleRuntime({ name: "openai", baseUrl: nested.url, model: MODEL, apiKey: "sk-wrong-key-0000" });
    const error = await catchFailure(runtime.check());
    expect(error).toMatchObject({ code: "backend_auth_failed" });
    expect(JSON.stringify({ message: error.message, hint: error.hint })).not.toContain("sk-wrong-key-0000");
  });

  test("fails with backend_unreachable naming the URL", async () => {
    const url = await startDeadUrl();
    const error = await catchFailure(vllm(MODEL, { baseUrl: url }).check());
    expect(error).toMatchObject({ code: "backend_unreachable" });
    expect(error.message).toContain(url);
  });
});

describe("OpenAICompatibleRuntime.healthy", () => {
  test("follows vLLM's /health", async () => {
    const runtime = vllm(MODEL);
    expect(await runtime.healthy()).toBe(true);
    nested.setHealthy(false);
    try {
      expect(await runtime.healthy()).toBe(false);
    } finally {
      nested.setHealthy(true);
    }
  });

  test("answers false, without throwing, when nothing listens", async () => {
    expect(await vllm(MODEL, { baseUrl: await startDeadUrl() }).healthy()).toBe(false);
  });
});

describe("OpenAICompatibleRuntime.backendModel", () => {
  test("maps every advertised name to the configured model and defaults vLLM's URL", () => {
    const runtime = new OpenAICompatibleRuntime({ name: "vllm", baseUrl: "", model: MODEL });
    expect(runtime.backendModel("basis-default")).toBe(MODEL);
    expect(runtime.advertised).toEqual([MODEL]);
    expect(runtime.baseUrl).toBe("http://127.0.0.1:8000");
  });
});
