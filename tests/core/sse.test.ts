import { describe, expect, test } from "bun:test";
import { createSseDecoder, readSse, SSE_DONE, type SseEvent } from "../../lib/core/sse.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

function decodeAll(chunks: (string | Uint8Array)[]): SseEvent[] {
  const decoder = createSseDecoder();
  return [...chunks.flatMap((chunk) => decoder.push(chunk)), ...decoder.flush()];
}

describe("createSseDecoder", () => {
  test("ends an event at a blank line", () => {
    const decoder = createSseDecoder();
    expect(decoder.push('data: {"a":1}\n')).toEqual([]);
    expect(decoder.push("\n")).toEqual([{ event: "message", data: '{"a":1}' }]);
  });

  test("joins several data lines with a newline", () => {
    expect(decodeAll(["data: one\ndata: two\ndata:three\n\n"])).toEqual([{ event: "message", data: "one\ntwo\nthree" }]);
  });

  test.each([
    ["LF", "\n"],
    ["CRLF", "\r\n"],
    ["CR", "\r"],
  ])("reads %s line endings", (_, eol) => {
    expect(decodeAll([`data: a${eol}${eol}data: b${eol}${eol}`]).map((e) => e.data)).toEqual(["a", "b"]);
  });

  test("treats a CRLF split between reads as one line end", () => {
    expect(decodeAll(["data: a\r", "\n\r", "\ndata: b\r\n\r\n"]).map((e) => e.data)).toEqual(["a", "b"]);
  });

  test("skips comments and keeps the event and id fields", () => {
    expect(decodeAll([": keep-alive\n\nevent: error\nid: 7\ndata: x\n\n"])).toEqual([{ event: "error", data: "x", id: "7" }]);
  });

  test("returns several events that arrive in one read, and an event split across many", () => {
    const text = 'data: {"n":1}\n\ndata: {"n":2}\n\ndata: [DONE]\n\n';
    expect(decodeAll([text]).map((e) => e.data)).toEqual(['{"n":1}', '{"n":2}', SSE_DONE]);
    const split = [...text].map((char) => char);
    expect(decodeAll(split).map((e) => e.data)).toEqual(['{"n":1}', '{"n":2}', SSE_DONE]);
  });

  test("joins a multibyte character split across reads", () => {
    const all = bytes("data: 🌍é\n\n");
    expect(decodeAll([all.slice(0, 8), all.slice(8, 11), all.slice(11)])).toEqual([{ event: "message", data: "🌍é" }]);
  });

  test("drops an event that never got its blank line", () => {
    expect(decodeAll(["data: a\n\ndata: cut"]).map((e) => e.data)).toEqual(["a"]);
  });

  test("dispatches an empty data line but not a blank line alone", () => {
    expect(decodeAll(["\n\ndata:\n\n"])).toEqual([{ event: "message", data: "" }]);
  });
});

describe("readSse", () => {
  test("yields events from a byte stream", async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes("data: a\n"));
        controller.enqueue(bytes("\ndata: b\n\nda"));
        controller.enqueue(bytes("ta: [DONE]\n\n"));
        controller.close();
      },
    });
    const out: string[] = [];
    for await (const event of readSse(stream)) out.push(event.data);
    expect(out).toEqual(["a", "b", SSE_DONE]);
  });
});
