/** The benchmark's fast backend must speak the real wire format: the official `openai` client accepts it. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { FAKE_MODEL, FAKE_TOKEN, type FakeOpenAI, startFakeOpenAI } from "../../bench/fake-openai.ts";

describe("startFakeOpenAI", () => {
  let fake: FakeOpenAI;
  let client: OpenAI;
  beforeAll(() => {
    fake = startFakeOpenAI();
    client = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: "unused" });
  });
  afterAll(() => fake.stop());

  test("lists the one model it serves", async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([FAKE_MODEL]);
  });

  test("answers max_tokens tokens in one completion with matching usage", async () => {
    const answer = await client.chat.completions.create({ model: FAKE_MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 5 });
    expect(answer.choices[0]?.message.content).toBe(FAKE_TOKEN.repeat(5));
    expect(answer.usage?.completion_tokens).toBe(5);
  });

  test("streams one event per token, more than one write's worth, then usage", async () => {
    const stream = await client.chat.completions.create({
      model: FAKE_MODEL,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 150,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let events = 0;
    let finish: string | null | undefined;
    let usage: number | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) {
        text += choice.delta.content;
        events++;
      }
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage.completion_tokens;
    }
    expect(text).toBe(FAKE_TOKEN.repeat(150));
    expect(events).toBe(150);
    expect(finish).toBe("length");
    expect(usage).toBe(150);
  });

  test("refuses a model it does not serve with a 404 the client raises", async () => {
    const failure = await client.chat.completions.create({ model: "other", messages: [{ role: "user", content: "hi" }] }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(OpenAI.NotFoundError);
  });
});
