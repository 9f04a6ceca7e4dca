/**
 * Proof that the fakes speak the real wire formats: the official `ollama` and `openai` npm
 * clients, which parse real servers, accept them and fail on them the way they fail on real ones.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Ollama } from "ollama";
import OpenAI, { APIError, NotFoundError } from "openai";
import { type FakeOllama, startFakeOllama } from "./fake-ollama.ts";
import { type FakeVllm, startFakeVllm } from "./fake-vllm.ts";

const TOKENS = ["Hel", "lo, ", "wörld ", "🌍", "!"];
const MESSAGES = [{ role: "user" as const, content: "Say hello" }];

describe("startFakeOllama with the ollama npm client", () => {
  let fake: FakeOllama;
  let client: Ollama;
  beforeAll(() => {
    fake = startFakeOllama({
      models: {
        "llama3.2": { tokens: TOKENS, pattern: "split", splitBytes: 7, promptTokens: 7 },
        "coalesced:1b": { tokens: TOKENS, pattern: "coalesce" },
        broken: { tokens: TOKENS, errorAfterTokens: 2, errorMessage: "model runner crashed" },
      },
      pulls: { "qwen2.5:0.5b": { steps: 3 } },
    });
    client = new Ollama({ host: fake.url });
  });
  afterAll(() => fake.close());

  test("streams a chat whose pieces join to the answer and ends with the metrics line", async () => {
    const parts: string[] = [];
    let last: { done: boolean; done_reason: string; prompt_eval_count: number; eval_count: number } | undefined;
    for await (const part of await client.chat({ model: "llama3.2", messages: MESSAGES, stream: true })) {
      parts.push(part.message.content);
      last = part;
    }
    expect(parts.join("")).toBe(TOKENS.join(""));
    expect(last).toMatchObject({ done: true, done_reason: "stop", prompt_eval_count: 7, eval_count: TOKENS.length });
  });

  test("reads coalesced lines as separate parts", async () => {
    const parts: string[] = [];
    for await (const part of await client.chat({ model: "coalesced:1b", messages: MESSAGES, stream: true })) parts.push(part.message.content);
    expect(parts).toEqual([...TOKENS, ""]);
  });

  test("answers a non-streamed chat in one object", async () => {
    const answer = await client.chat({ model: "llama3.2", messages: MESSAGES, stream: false });
    expect(answer.message.content).toBe(TOKENS.join(""));
    expect(answer.done).toBe(true);
    expect(fake.requests.at(-1)?.body).toMatchObject({ model: "llama3.2", stream: false });
  });

  test("truncates at num_predict with done_reason length", async () => {
    const answer = await client.chat({ model: "llama3.2", messages: MESSAGES, options: { num_predict: 2 } });
    expect(answer.message.content).toBe("Hello, ");
    expect(answer.done_reason).toBe("length");
  });

  test("lists models with tags", async () => {
    const list = await client.list();
    expect(list.models.map((model) => model.name)).toContain("llama3.2:latest");
    expect(list.models[0]?.details.family).toBe("llama");
  });

  test("streams pull progress the client reads to success", async () => {
    const statuses: { status: string; completed?: number; total?: number }[] = [];
    for await (const progress of await client.pull({ model: "qwen2.5:0.5b", stream: true })) statuses.push(progress);
    expect(statuses[0]?.status).toBe("pulling manifest");
    expect(statuses.some((s) => s.status.startsWith("pulling 6a0746a1ec1a") && s.total === 2_142_590_208)).toBe(true);
    expect(statuses.at(-1)?.status).toBe("success");
    expect(fake.requests.at(-1)?.body).toMatchObject({ name: "qwen2.5:0.5b" });
  });

  test("throws on an error line mid-stream", async () => {
    const read = async () => {
      for await (const _ of await client.chat({ model: "broken", messages: MESSAGES, stream: true })) {
        // drain
      }
    };
    await expect(read()).rejects.toThrow("model runner crashed");
  });

  test("throws ResponseError 404 for an unknown model", async () => {
    const error = await client.chat({ model: "nope", messages: MESSAGES }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "ResponseError", status_code: 404 });
    expect(String(error)).toContain('model "nope" not found');
  });
});

describe("startFakeVllm with the openai npm client", () => {
  let fake: FakeVllm;
  let client: OpenAI;
  beforeAll(() => {
    fake = startFakeVllm({
      models: {
        "meta-llama/Llama-3.2-1B-Instruct": { tokens: TOKENS, pattern: "split", splitBytes: 9, promptTokens: 9 },
        broken: { tokens: TOKENS, errorAfterTokens: 1, errorMessage: "Engine loop has died" },
      },
      apiKey: "test-key-123",
    });
    client = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: "test-key-123", maxRetries: 0 });
  });
  afterAll(() => fake.close());

  test("streams chunks with a finish reason and a usage chunk", async () => {
    const stream = await client.chat.completions.create({
      model: "meta-llama/Llama-3.2-1B-Instruct",
      messages: MESSAGES,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    const finishes: (string | null)[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? "";
        finishes.push(choice.finish_reason);
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(TOKENS.join(""));
    expect(finishes.at(-1)).toBe("stop");
    expect(usage).toEqual({ prompt_tokens: 9, completion_tokens: TOKENS.length, total_tokens: 9 + TOKENS.length });
  });

  test("answers a non-streamed completion", async () => {
    const answer = await client.chat.completions.create({ model: "meta-llama/Llama-3.2-1B-Instruct", messages: MESSAGES, max_tokens: 3 });
    expect(answer.choices[0]?.message.content).toBe("Hello, wörld ");
    expect(answer.choices[0]?.finish_reason).toBe("length");
  });

  test("lists the served models", async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(["meta-llama/Llama-3.2-1B-Instruct", "broken"]);
  });

  test("throws APIError on an error event mid-stream", async () => {
    const read = async () => {
      const stream = await client.chat.completions.create({ model: "broken", messages: MESSAGES, stream: true });
      for await (const _ of stream) {
        // drain
      }
    };
    const error = await read().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIError);
    expect(String(error)).toContain("Engine loop has died");
  });

  test("throws NotFoundError for an unknown model", async () => {
    const error = await client.chat.completions.create({ model: "nope", messages: MESSAGES }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(String(error)).toContain("does not exist");
  });

  test("refuses a wrong API key with 401", async () => {
    const wrong = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: "wrong", maxRetries: 0 });
    const error = await wrong.models.list().catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 401 });
  });
});
