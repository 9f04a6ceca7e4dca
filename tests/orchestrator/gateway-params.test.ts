/**
 * Every chat-completions parameter is honoured or refused, never dropped: the official `openai`
 * client through the orchestrator and a real worker to a fake vLLM or Ollama, checking both what
 * the client gets back and what reached the backend.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI, { BadRequestError } from "openai";
import type { Orchestrator } from "../../lib/orchestrator/server.ts";
import { OllamaRuntime } from "../../lib/worker/runtimes/ollama.ts";
import { OpenAICompatibleRuntime } from "../../lib/worker/runtimes/openai-compatible.ts";
import { type FakeOllama, startFakeOllama } from "../fakes/fake-ollama.ts";
import { type FakeVllm, startFakeVllm } from "../fakes/fake-vllm.ts";
import { startTestOrchestrator, startTestWorker, waitUntil } from "../helpers/harness.ts";

const TOKENS = ["The ", "weather ", "is ", "sunny", "."];
const CALL = { name: "get_weather", arguments: '{"city":"Paris"}' };
const TOOLS = [{ type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
const ASK = [{ role: "user" as const, content: "Weather in Paris?" }];

let orchestrator: Orchestrator;
let vllm: FakeVllm;
let ollama: FakeOllama;
let client: OpenAI;
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  vllm = startFakeVllm({ models: { "Qwen/Qwen3-8B": { tokens: TOKENS, toolCalls: [CALL], reasoning: ["Think", "ing."] } } });
  ollama = startFakeOllama({ models: { "qwen3:8b": { tokens: TOKENS, toolCalls: [CALL], reasoning: ["Hmm."] } } });
  orchestrator = await startTestOrchestrator({ jobTimeoutMs: 5_000 });
  const vllmWorker = await startTestWorker(
    orchestrator,
    { BASIS_WORKER_ID: "vllm-worker", BASIS_WORKER_RUNTIME: "vllm", BASIS_VLLM_URL: vllm.url, BASIS_VLLM_MODEL: "Qwen/Qwen3-8B", BASIS_WORKER_MODELS: "basis-default" },
    new OpenAICompatibleRuntime({ name: "vllm", baseUrl: vllm.url, model: "Qwen/Qwen3-8B", advertised: ["basis-default"] }),
  );
  const ollamaWorker = await startTestWorker(
    orchestrator,
    { BASIS_WORKER_ID: "ollama-worker", BASIS_WORKER_RUNTIME: "ollama", BASIS_OLLAMA_MODEL: "qwen3:8b", BASIS_WORKER_MODELS: "basis-small" },
    new OllamaRuntime({ baseUrl: ollama.url, model: "qwen3:8b", advertised: ["basis-small"] }),
  );
  stops.push(vllmWorker.stop, ollamaWorker.stop);
  await waitUntil("workers online", () => orchestrator.registry.size === 2);
  client = new OpenAI({ baseURL: `${orchestrator.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  for (const stop of stops) await stop();
  await orchestrator.close();
  await vllm.close();
  await ollama.close();
});

const lastBody = (fake: FakeVllm | FakeOllama) => fake.requests.filter((r) => r.path.endsWith("/chat")||r.path.endsWith("/chat/completions")).at(-1)?.body as Record<string, unknown>;

describe("the gateway with a vLLM worker", () => {
  test("a tools round trip: tool_calls back whole, then the tool's answer goes up with its call id", async () => {
    const first = await client.chat.completions.create({ model: "basis-default", messages: ASK, tools: TOOLS, tool_choice: "auto" });
    const call = first.choices[0]!.message.tool_calls![0]!;
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    expect(first.choices[0]!.message.content).toBeNull();
    expect(call).toMatchObject({ type: "function", function: CALL });
    expect(lastBody(vllm)).toMatchObject({ tools: TOOLS, tool_choice: "auto" });

    await client.chat.completions.create({
      model: "basis-default",
      messages: [...ASK, first.choices[0]!.message, { role: "tool", tool_call_id: call.id, content: '{"sky":"clear"}' }],
    });
    const sent = lastBody(vllm).messages as Record<string, unknown>[];
    expect(sent[1]).toMatchObject({ role: "assistant", content: null, tool_calls: [{ id: call.id, function: CALL }] });
    expect(sent[2]).toEqual({ role: "tool", tool_call_id: call.id, content: '{"sky":"clear"}' });
  });

  test("streamed tool calls add up in the SDK's accumulator", async () => {
    const final = await client.chat.completions.stream({ model: "basis-default", messages: ASK, tools: TOOLS }).finalChatCompletion();
    expect(final.choices[0]!.message.tool_calls?.[0]).toMatchObject({ function: CALL });
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
  });

  test("JSON mode passes through and the answer parses", async () => {
    const answer = await client.chat.completions.create({ model: "basis-default", messages: ASK, response_format: { type: "json_object" } });
    expect(JSON.parse(answer.choices[0]!.message.content!)).toEqual({ answer: TOKENS.join("") });
    expect(lastBody(vllm).response_format).toEqual({ type: "json_object" });
  });

  test("max_completion_tokens cuts the answer and every sampling parameter reaches the backend", async () => {
    const params = { seed: 7, temperature: 0.3, top_p: 0.9, presence_penalty: 0.5, frequency_penalty: -0.5, logit_bias: { "42": 5 }, user: "u-1", stop: ["xyz"] };
    const answer = await client.chat.completions.create({ model: "basis-default", messages: ASK, max_completion_tokens: 3, ...params });
    expect(answer.choices[0]!.message.content).toBe("The weather is ");
    expect(answer.choices[0]!.finish_reason).toBe("length");
    // The worker reports 3 answer + 2 reasoning tokens; the gateway holds usage to the limit asked.
    expect(answer.usage?.completion_tokens).toBe(3);
    expect(lastBody(vllm)).toMatchObject({ max_completion_tokens: 3, ...params });
  });

  test("logprobs come back per token, whole and streamed", async () => {
    const whole = await client.chat.completions.create({ model: "basis-default", messages: ASK, logprobs: true, top_logprobs: 1 });
    expect(whole.choices[0]!.logprobs!.content!.map((entry) => entry.token)).toEqual(TOKENS);
    const tokens: string[] = [];
    for await (const chunk of await client.chat.completions.create({ model: "basis-default", messages: ASK, logprobs: true, stream: true })) {
      for (const entry of chunk.choices[0]?.logprobs?.content ?? []) tokens.push(entry.token);
    }
    expect(tokens).toEqual(TOKENS);
  });

  test("reasoning comes back as reasoning_content; developer becomes system; text parts join", async () => {
    const answer = await client.chat.completions.create({
      model: "basis-default",
      messages: [
        { role: "developer", content: "Be brief." },
        { role: "user", content: [{ type: "text", text: "Weather" }, { type: "text", text: "in Paris?" }] },
      ],
    });
    expect((answer.choices[0]!.message as { reasoning_content?: string }).reasoning_content).toBe("Thinking.");
    expect(lastBody(vllm).messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Weather\nin Paris?" },
    ]);
  });

  test("n: 2, an image part or an unknown parameter is a 400 naming the parameter", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ n: 2 }, "n"],
      [{ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "http://x" } }] }] }, "messages.0.content.0.type"],
      [{ functions: [] }, "functions"],
      [{ top_logprobs: 2 }, "top_logprobs"],
    ];
    for (const [extra, param] of cases) {
      const error = await client.chat.completions.create({ model: "basis-default", messages: ASK, ...extra } as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).param ?? (error as { error?: { param?: string } }).error?.param).toBe(param);
    }
  });
});

describe("the gateway with an Ollama worker", () => {
  test("parameters go through Ollama's own options, format, tools and think", async () => {
    const answer = await client.chat.completions.create({
      model: "basis-small",
      messages: [{ role: "developer", content: "Be brief." }, ...ASK],
      max_completion_tokens: 9,
      seed: 3,
      temperature: 0.2,
      top_p: 0.8,
      presence_penalty: 1,
      frequency_penalty: 1,
      stop: ["zzz"],
      response_format: { type: "json_schema", json_schema: { name: "w", schema: { type: "object" } } },
      reasoning_effort: "low",
    });
    expect(JSON.parse(answer.choices[0]!.message.content!)).toEqual({ answer: TOKENS.join("") });
    expect((answer.choices[0]!.message as { reasoning_content?: string }).reasoning_content).toBe("Hmm.");
    expect(lastBody(ollama)).toMatchObject({
      format: { type: "object" },
      think: true,
      messages: [{ role: "system", content: "Be brief." }, ASK[0]],
      options: { num_predict: 9, seed: 3, temperature: 0.2, top_p: 0.8, presence_penalty: 1, frequency_penalty: 1, stop: ["zzz"] },
    });
  });

  test("tool calls come back with ids and OpenAI's finish reason, whole and streamed", async () => {
    const whole = await client.chat.completions.create({ model: "basis-small", messages: ASK, tools: TOOLS });
    expect(whole.choices[0]!.finish_reason).toBe("tool_calls");
    expect(whole.choices[0]!.message.tool_calls?.[0]).toMatchObject({ type: "function", function: CALL });
    expect(whole.choices[0]!.message.tool_calls?.[0]?.id).toMatch(/^call_/);
    const streamed = await client.chat.completions.stream({ model: "basis-small", messages: ASK, tools: TOOLS }).finalChatCompletion();
    expect(streamed.choices[0]!.message.tool_calls?.[0]).toMatchObject({ function: CALL });
  });

  test("what Ollama cannot honour is a 400 naming it, and no job reaches the backend", async () => {
    const chats = () => ollama.requests.filter((r) => r.path === "/api/chat").length;
    const before = chats();
    for (const [extra, param] of [
      [{ logprobs: true }, "logprobs"],
      [{ tools: TOOLS, tool_choice: "required" }, "tool_choice"],
      [{ logit_bias: { "1": 2 } }, "logit_bias"],
    ] as const) {
      const error = await client.chat.completions.create({ model: "basis-small", messages: ASK, ...extra } as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BadRequestError);
      expect(String((error as Error).message)).toContain(param);
    }
    expect(chats()).toBe(before);
  });
});
