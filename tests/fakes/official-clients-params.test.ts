/**
 * The fakes speak tools, JSON mode, logprobs, stop strings and reasoning as the real servers
 * do: the official clients' own parsers and stream accumulators read them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { type FakeOllama, startFakeOllama } from "./fake-ollama.ts";
import { type FakeVllm, startFakeVllm } from "./fake-vllm.ts";

const TOKENS = ["The ", "weather ", "is ", "sunny", "."];
const CALL = { name: "get_weather", arguments: '{"city":"Paris","unit":"celsius"}' };
const TOOLS = [
  {
    type: "function" as const,
    function: { name: "get_weather", description: "Weather now", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
  },
];
const MESSAGES = [{ role: "user" as const, content: "Weather in Paris?" }];

describe("startFakeVllm with the openai npm client: parameters", () => {
  let fake: FakeVllm;
  let client: OpenAI;
  beforeAll(() => {
    fake = startFakeVllm({
      models: {
        tools: { tokens: TOKENS, toolCalls: [CALL] },
        thinker: { tokens: TOKENS, reasoning: ["Let ", "me ", "think."] },
      },
    });
    client = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  afterAll(() => fake.close());

  test("a whole answer carries tool_calls with finish_reason tool_calls and null content", async () => {
    const answer = await client.chat.completions.create({ model: "tools", messages: MESSAGES, tools: TOOLS });
    const choice = answer.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls?.[0]).toMatchObject({ type: "function", function: CALL });
  });

  test("streamed tool-call pieces add up in the SDK's own accumulator", async () => {
    const stream = client.chat.completions.stream({ model: "tools", messages: MESSAGES, tools: TOOLS });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]?.message.tool_calls?.[0]).toMatchObject({ function: CALL });
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
  });

  test("JSON mode answers one parseable JSON object", async () => {
    const answer = await client.chat.completions.create({ model: "tools", messages: MESSAGES, response_format: { type: "json_object" } });
    expect(JSON.parse(answer.choices[0]!.message.content!)).toEqual({ answer: TOKENS.join("") });
  });

  test("logprobs come per token with the asked number of alternatives", async () => {
    const answer = await client.chat.completions.create({ model: "tools", messages: MESSAGES, logprobs: true, top_logprobs: 2 });
    const content = answer.choices[0]!.logprobs!.content!;
    expect(content.map((entry) => entry.token)).toEqual(TOKENS);
    expect(content[0]!.top_logprobs).toHaveLength(2);
  });

  test("a stop string ends the answer before it, with finish_reason stop", async () => {
    const answer = await client.chat.completions.create({ model: "tools", messages: MESSAGES, stop: ["sunny"] });
    expect(answer.choices[0]!.message.content).toBe("The weather is ");
    expect(answer.choices[0]!.finish_reason).toBe("stop");
  });

  test("reasoning arrives as reasoning_content before the answer", async () => {
    let reasoning = "";
    let text = "";
    for await (const chunk of await client.chat.completions.create({ model: "thinker", messages: MESSAGES, stream: true })) {
      const delta = chunk.choices[0]?.delta as { content?: string; reasoning_content?: string } | undefined;
      reasoning += delta?.reasoning_content ?? "";
      text += delta?.content ?? "";
    }
    expect(reasoning).toBe("Let me think.");
    expect(text).toBe(TOKENS.join(""));
  });
});

describe("startFakeOllama with the ollama npm client: parameters", () => {
  let fake: FakeOllama;
  let client: Ollama;
  beforeAll(() => {
    fake = startFakeOllama({ models: { "qwen3:0.6b": { tokens: TOKENS, toolCalls: [CALL], reasoning: ["Hmm, ", "Paris."] } } });
    client = new Ollama({ host: fake.url });
  });
  afterAll(() => fake.close());

  test("answers tools with whole tool calls whose arguments are an object", async () => {
    const answer = await client.chat({ model: "qwen3:0.6b", messages: MESSAGES, tools: TOOLS });
    expect(answer.message.tool_calls?.[0]?.function).toEqual({ name: CALL.name, arguments: JSON.parse(CALL.arguments) });
  });

  test("streams thinking when asked to think, then the answer", async () => {
    let thinking = "";
    let text = "";
    for await (const part of await client.chat({ model: "qwen3:0.6b", messages: MESSAGES, think: true, stream: true })) {
      thinking += part.message.thinking ?? "";
      text += part.message.content;
    }
    expect(thinking).toBe("Hmm, Paris.");
    expect(text).toBe(TOKENS.join(""));
  });

  test("format json answers one JSON object; options.stop cuts before the stop string", async () => {
    const json = await client.chat({ model: "qwen3:0.6b", messages: MESSAGES, format: "json" });
    expect(JSON.parse(json.message.content)).toEqual({ answer: TOKENS.join("") });
    const stopped = await client.chat({ model: "qwen3:0.6b", messages: MESSAGES, options: { stop: ["is"] } });
    expect(stopped.message.content).toBe("The weather ");
  });
});
