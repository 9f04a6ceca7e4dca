import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { InferenceRequest } from "../../../lib/core/protocol.ts";
import type { PullProgress } from "../../../lib/core/pull-progress.ts";
import { isSameOllamaModel, OllamaRuntime } from "../../../lib/worker/runtimes/ollama.ts";
import { type FakeOllama, startFakeOllama } from "../../fakes/fake-ollama.ts";
import { catchFailure, startDeadUrl, waitForAborts } from "../../fakes/helpers.ts";

const TOKENS = ["Hel", "lo", ", wö", "rld ", "🌍", "."];
const ANSWER = TOKENS.join("");
const request = (model = "basis-default", extra: Partial<InferenceRequest> = {}): InferenceRequest => ({
  model,
  messages: [{ role: "user", content: "Say hello" }],
  ...extra,
});

async function runCollecting(runtime: OllamaRuntime, req: InferenceRequest, signal = new AbortController().signal) {
  const deltas: string[] = [];
  const result = await runtime.run(req, { signal, onDelta: (d) => deltas.push(d.content ?? "") });
  return { result, deltas };
}

let fake: FakeOllama;
const runtimeFor = (model: string, extra: Partial<ConstructorParameters<typeof OllamaRuntime>[0]> = {}) =>
  new OllamaRuntime({ baseUrl: fake.url, model, advertised: ["basis-default"], ...extra });

beforeAll(() => {
  fake = startFakeOllama({
    models: {
      "llama3.2": { tokens: TOKENS, promptTokens: 21 },
      "split:1b": { tokens: TOKENS, pattern: "split", splitBytes: 3 },
      "coalesced:1b": { tokens: TOKENS, pattern: "coalesce" },
      "quiet:1b": { tokens: TOKENS, omitMetrics: true },
      "long:1b": { tokens: TOKENS, finish: "length" },
      "broken:1b": { tokens: TOKENS, errorAfterTokens: 2, errorMessage: "CUDA error: out of memory" },
      "cut:1b": { tokens: TOKENS, endAfterTokens: 3 },
      "silent:1b": { tokens: TOKENS, silent: true },
      "slow:1b": { tokens: TOKENS, tokenDelayMs: 150 },
    },
    pulls: { "qwen2.5:0.5b": { steps: 4, layers: [{ digest: `sha256:6a0746a1ec1a${"0".repeat(52)}`, total: 2 * 1024 ** 3 }] } },
  });
});
afterAll(() => fake.close());

describe("OllamaRuntime.run", () => {
  test("streams the exact answer with usage and finish reason stop", async () => {
    const { result, deltas } = await runCollecting(runtimeFor("llama3.2"), request());
    expect(deltas).toEqual(TOKENS);
    expect(result).toEqual({ text: ANSWER, finish_reason: "stop", usage: { prompt_tokens: 21, completion_tokens: TOKENS.length } });
  });

  test("sends the backend model, stream:true and the sampling options Ollama understands", async () => {
    await runCollecting(runtimeFor("llama3.2"), request("basis-default", { max_tokens: 50, temperature: 0.2, top_p: 0.9, stop: ["\n\n"], seed: 7 }));
    expect(fake.requests.at(-1)).toMatchObject({
      method: "POST",
      path: "/api/chat",
      body: {
        model: "llama3.2",
        stream: true,
        messages: [{ role: "user", content: "Say hello" }],
        options: { num_predict: 50, temperature: 0.2, top_p: 0.9, stop: ["\n\n"], seed: 7 },
      },
    });
  });

  test.each([["split:1b"], ["coalesced:1b"]])("reads the same answer when writes are %s", async (model) => {
    const { result, deltas } = await runCollecting(runtimeFor(model), request());
    expect(result.text).toBe(ANSWER);
    expect(deltas.join("")).toBe(ANSWER);
  });

  test("reports length when max_tokens cuts the answer", async () => {
    const { result } = await runCollecting(runtimeFor("llama3.2"), request("basis-default", { max_tokens: 2 }));
    expect(result).toMatchObject({ text: "Hello", finish_reason: "length", usage: { completion_tokens: 2 } });
  });

  test("keeps done_reason length from the backend", async () => {
    expect((await runCollecting(runtimeFor("long:1b"), request())).result.finish_reason).toBe("length");
  });

  test("counts 0 tokens when Ollama omits the metrics", async () => {
    const { result } = await runCollecting(runtimeFor("quiet:1b"), request());
    expect(result.usage).toEqual({ prompt_tokens: 0, completion_tokens: 0 });
  });

  test("fails with backend_error carrying the message of an error line mid-stream", async () => {
    const deltas: string[] = [];
    const error = await catchFailure(runtimeFor("broken:1b").run(request(), { signal: new AbortController().signal, onDelta: (d) => deltas.push(d.content ?? "") }));
    expect(error).toMatchObject({ code: "backend_error" });
    expect(error.message).toContain("CUDA error: out of memory");
    expect(deltas).toEqual(TOKENS.slice(0, 2));
  });

  test("fails with backend_stream_ended when the stream stops without done", async () => {
    expect(await catchFailure(runCollecting(runtimeFor("cut:1b"), request()))).toMatchObject({ code: "backend_stream_ended" });
  });

  test("fails with model_not_found naming the model and the pull command on 404", async () => {
    const error = await catchFailure(runCollecting(runtimeFor("missing:7b"), request()));
    expect(error).toMatchObject({ code: "model_not_found" });
    expect(error.message).toContain('"missing:7b"');
    expect(error.hint).toContain("ollama pull missing:7b");
  });

  test("fails with backend_unreachable naming the URL when Ollama is down", async () => {
    const url = await startDeadUrl();
    const error = await catchFailure(runCollecting(new OllamaRuntime({ baseUrl: url, model: "llama3.2" }), request()));
    expect(error).toMatchObject({ code: "backend_unreachable" });
    expect(error.message).toContain(url);
  });

  test("fails with first_token_timeout when no token comes, and closes the request", async () => {
    const before = fake.aborts;
    // The silent model never answers: only the 150 ms first-token clock can end this run.
    const error = await catchFailure(runCollecting(runtimeFor("silent:1b", { firstTokenTimeoutMs: 150 }), request()));
    expect(error).toMatchObject({ code: "first_token_timeout" });
    expect(await waitForAborts(fake, before + 1)).toBe(before + 1);
  });

  test("fails with job_timeout when the whole answer takes too long, and closes the request", async () => {
    const before = fake.aborts;
    const error = await catchFailure(runCollecting(runtimeFor("slow:1b", { firstTokenTimeoutMs: 5_000, totalTimeoutMs: 400 }), request()));
    expect(error).toMatchObject({ code: "job_timeout" });
    expect(await waitForAborts(fake, before + 1)).toBe(before + 1);
  });

  test("rejects with job_cancelled at once when the signal aborts, and the backend sees the client leave", async () => {
    const before = fake.aborts;
    const controller = new AbortController();
    // At once: no token after the first reaches the caller once the signal aborts.
    let deltas = 0;
    const running = runtimeFor("slow:1b").run(request(), {
      signal: controller.signal,
      onDelta: () => {
        deltas++;
        controller.abort("client went away");
      },
    });
    const error = await catchFailure(running);
    expect(error).toMatchObject({ code: "job_cancelled" });
    expect(error.message).toContain("client went away");
    expect(deltas).toBe(1);
    expect(await waitForAborts(fake, before + 1)).toBe(before + 1);
  });

  test("rejects with job_cancelled without answering when the signal is already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await catchFailure(runCollecting(runtimeFor("llama3.2"), request(), controller.signal))).toMatchObject({ code: "job_cancelled" });
  });
});

describe("OllamaRuntime.check", () => {
  test.each([["llama3.2"], ["llama3.2:latest"], ["LLAMA3.2"]])("accepts %s when /api/tags lists the model", async (model) => {
    await runtimeFor(model).check();
  });

  test("fails with model_missing and the pull command when the model is not there", async () => {
    const error = await catchFailure(runtimeFor("mistral:7b").check());
    expect(error).toMatchObject({ code: "model_missing" });
    expect(error.hint).toContain("ollama pull mistral:7b");
    expect(error.hint).toContain("basis-worker start --pull");
  });

  test("fails with backend_unreachable naming the URL", async () => {
    const url = await startDeadUrl();
    const error = await catchFailure(new OllamaRuntime({ baseUrl: url, model: "llama3.2" }).check());
    expect(error).toMatchObject({ code: "backend_unreachable" });
    expect(error.message).toContain(url);
  });
});

describe("OllamaRuntime.healthy", () => {
  test("follows the server's health", async () => {
    const runtime = runtimeFor("llama3.2");
    expect(await runtime.healthy()).toBe(true);
    fake.setHealthy(false);
    try {
      expect(await runtime.healthy()).toBe(false);
    } finally {
      fake.setHealthy(true);
    }
  });

  test("answers false, without throwing, when nothing listens", async () => {
    expect(await new OllamaRuntime({ baseUrl: await startDeadUrl(), model: "x" }).healthy()).toBe(false);
  });
});

describe("OllamaRuntime.pull", () => {
  test("reports formatted progress and then the model passes check", async () => {
    let clock = 0;
    const runtime = runtimeFor("qwen2.5:0.5b", { now: () => (clock += 1_000) });
    const lines: PullProgress[] = [];
    await runtime.pull("qwen2.5:0.5b", (progress) => lines.push(progress));
    expect(lines[0]?.line).toBe("pulling manifest");
    expect(lines.map((p) => p.line)).toContain("pulling 6a0746a1ec1a  1.0 GiB / 2.0 GiB  50%  512.0 MiB/s");
    expect(lines.at(-1)?.line).toBe("writing manifest");
    expect(fake.requests.at(-1)?.body).toMatchObject({ model: "qwen2.5:0.5b", stream: true });
    await runtime.check();
  });

  test("fails with pull_failed carrying Ollama's error line", async () => {
    const error = await catchFailure(runtimeFor("nope:1b").pull("nope:1b", () => {}));
    expect(error).toMatchObject({ code: "pull_failed" });
    expect(error.message).toContain("file does not exist");
  });
});

describe("isSameOllamaModel", () => {
  test.each([
    ["llama3.2", "llama3.2:latest", true],
    ["library/llama3.2", "library/llama3.2:latest", true],
    ["hf.co/org/repo:Q4_K_M", "hf.co/org/repo:q4_k_m", true],
    ["llama3.2:1b", "llama3.2", false],
    ["llama3", "llama3.2", false],
  ])("%s vs %s -> %s", (a, b, same) => {
    expect(isSameOllamaModel(a, b)).toBe(same);
  });
});

describe("OllamaRuntime.backendModel", () => {
  test("maps every advertised name to the configured model, advertising the model by default", () => {
    const runtime = new OllamaRuntime({ model: "llama3.2" });
    expect(runtime.backendModel("basis-default")).toBe("llama3.2");
    expect(runtime.advertised).toEqual(["llama3.2"]);
    expect(runtime.baseUrl).toBe("http://127.0.0.1:11434");
  });
});
