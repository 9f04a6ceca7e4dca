import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cutIntoWrites, planAnswer } from "./fake-stream.ts";
import { type FakeOllama, startFakeOllama } from "./fake-ollama.ts";
import { waitForAborts } from "./helpers.ts";

const decoder = new TextDecoder();

describe("cutIntoWrites", () => {
  const frames = [{ text: "aé\n" }, { text: "bb\n", delayMs: 4 }, { text: "c\n" }, { text: "d\n" }];

  test("writes one frame per write by default", () => {
    expect(cutIntoWrites(frames, "frame").map((w) => decoder.decode(w.bytes))).toEqual(["aé\n", "bb\n", "c\n", "d\n"]);
  });

  test("cuts frames into byte pieces, through a multibyte character", () => {
    const writes = cutIntoWrites(frames, "split", 2);
    expect(writes[0]?.bytes).toEqual(new Uint8Array([0x61, 0xc3]));
    expect(Buffer.concat(writes.map((w) => w.bytes)).toString()).toBe("aé\nbb\nc\nd\n");
    expect(writes.find((w) => decoder.decode(w.bytes) === "bb")?.delayMs).toBe(4);
  });

  test("joins three frames per write and sums their delays", () => {
    const writes = cutIntoWrites(frames, "coalesce");
    expect(writes.map((w) => decoder.decode(w.bytes))).toEqual(["aé\nbb\nc\n", "d\n"]);
    expect(writes[0]?.delayMs).toBe(4);
  });
});

describe("planAnswer", () => {
  test("stops at max tokens with finish reason length", () => {
    expect(planAnswer({ tokens: ["a", "b", "c"] }, 2)).toEqual({ tokens: ["a", "b"], finish: "length", ending: "complete" });
  });
  test("ends with an error after the given tokens", () => {
    expect(planAnswer({ tokens: ["a", "b"], errorAfterTokens: 1 }, undefined)).toMatchObject({ tokens: ["a"], ending: "error" });
  });
  test("cuts the stream after the given tokens", () => {
    expect(planAnswer({ tokens: ["a", "b"], endAfterTokens: 0 }, undefined)).toMatchObject({ tokens: [], ending: "cut" });
  });
});

describe("streamBody", () => {
  let fake: FakeOllama;
  beforeAll(() => {
    fake = startFakeOllama({
      models: {
        split: { tokens: ["one", "two"], pattern: "split", splitBytes: 8 },
        slow: { tokens: ["a", "b", "c", "d"], tokenDelayMs: 200 },
      },
    });
  });
  afterAll(() => fake.close());

  const chat = (model: string, signal?: AbortSignal) =>
    fetch(`${fake.url}/api/chat`, { method: "POST", body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }), signal });

  test("delivers split writes as separate reads that cut lines", async () => {
    const response = await chat("split");
    expect(response.headers.get("content-type")).toBe("application/x-ndjson");
    const reads: string[] = [];
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) reads.push(decoder.decode(chunk));
    expect(reads.length).toBeGreaterThan(3);
    expect(reads.some((read) => !read.endsWith("\n"))).toBe(true);
    expect(reads.join("").trim().split("\n")).toHaveLength(3);
  });

  test("counts a client that leaves mid-stream as an abort", async () => {
    const before = fake.aborts;
    const controller = new AbortController();
    const response = await chat("slow", controller.signal);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    controller.abort();
    expect(await waitForAborts(fake, before + 1)).toBe(before + 1);
  });

  test("does not count a stream read to its end", async () => {
    const before = fake.aborts;
    await (await chat("split")).text();
    await Bun.sleep(20);
    expect(fake.aborts).toBe(before);
  });
});
