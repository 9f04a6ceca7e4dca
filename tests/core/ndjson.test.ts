import { describe, expect, test } from "bun:test";
import { createLineDecoder, parseJsonLine, readNdjson } from "../../lib/core/ndjson.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

function streamOf(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(typeof chunk === "string" ? bytes(chunk) : chunk);
      controller.close();
    },
  });
}

describe("createLineDecoder", () => {
  test("holds a line split across reads until its newline arrives", () => {
    const decoder = createLineDecoder();
    expect(decoder.push('{"a":')).toEqual([]);
    expect(decoder.push("1}")).toEqual([]);
    expect(decoder.push('\n{"b"')).toEqual(['{"a":1}']);
    expect(decoder.push(":2}\n")).toEqual(['{"b":2}']);
  });

  test("returns several lines that arrive in one read", () => {
    expect(createLineDecoder().push('{"a":1}\n{"b":2}\n{"c":3}\n')).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  test("joins a multibyte character split across reads", () => {
    const whole = bytes('{"t":"é🌍"}\n');
    const decoder = createLineDecoder();
    const lines: string[] = [];
    for (let i = 0; i < whole.length; i++) lines.push(...decoder.push(whole.slice(i, i + 1)));
    expect(lines).toEqual(['{"t":"é🌍"}']);
  });

  test("returns a trailing line without newline at flush", () => {
    const decoder = createLineDecoder();
    expect(decoder.push('{"a":1}\n{"done":true}')).toEqual(['{"a":1}']);
    expect(decoder.flush()).toEqual(['{"done":true}']);
    expect(decoder.flush()).toEqual([]);
  });

  test("strips CRLF endings and skips blank lines", () => {
    expect(createLineDecoder().push('{"a":1}\r\n\r\n  \n{"b":2}\n')).toEqual(['{"a":1}', '{"b":2}']);
  });
});

describe("parseJsonLine", () => {
  test("parses a JSON object", () => {
    expect(parseJsonLine('{"done":true}')).toEqual({ done: true });
  });

  test.each([
    ["not JSON", "{oops"],
    ["an array", "[1,2]"],
    ["a number", "42"],
    ["null", "null"],
  ])("refuses %s with backend_bad_response", (_, line) => {
    expect(() => parseJsonLine(line)).toThrow(expect.objectContaining({ code: "backend_bad_response" }));
  });
});

describe("readNdjson", () => {
  test("yields objects from a stream cut at arbitrary points", async () => {
    const text = '{"n":1,"s":"ü"}\n{"n":2}\n{"n":3}';
    const all = bytes(text);
    const chunks = [all.slice(0, 10), all.slice(10, 13), all.slice(13, 14), all.slice(14)];
    const out: unknown[] = [];
    for await (const value of readNdjson(streamOf(chunks))) out.push(value);
    expect(out).toEqual([{ n: 1, s: "ü" }, { n: 2 }, { n: 3 }]);
  });

  test("cancels the stream when the reader stops early", async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(bytes('{"n":1}\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const _ of readNdjson(stream)) break;
    expect(cancelled).toBe(true);
  });
});
