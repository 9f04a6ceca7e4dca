/**
 * Incremental Server-Sent Events decoding (OpenAI-compatible streams), after the WHATWG
 * event-stream rules: lines end in CRLF, LF or CR; an event ends at a blank line; several
 * `data:` lines join with `\n`; lines starting with `:` are comments. Reads may cut anywhere.
 */
import { readChunks } from "./ndjson.ts";

export interface SseEvent {
  /** The `event:` field; "message" when the server sent none. */
  event: string;
  data: string;
  id?: string;
}

/** The payload OpenAI-compatible servers send as their last event. */
export const SSE_DONE = "[DONE]";

export interface SseDecoder {
  /** Feed the next chunk; returns the events it completed. */
  push(chunk: Uint8Array | string): SseEvent[];
  /** End of input. An event without its closing blank line is dropped, as browsers do. */
  flush(): SseEvent[];
}

export function createSseDecoder(): SseDecoder {
  const utf8 = new TextDecoder("utf-8");
  let buffer = "";
  let data: string[] = [];
  let event = "";
  let id: string | undefined;
  let sawData = false;

  const takeLine = (line: string, out: SseEvent[]): void => {
    if (line === "") {
      if (sawData) out.push({ event: event || "message", data: data.join("\n"), ...(id === undefined ? {} : { id }) });
      data = [];
      event = "";
      sawData = false;
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") {
      data.push(value);
      sawData = true;
    } else if (field === "event") event = value;
    else if (field === "id" && !value.includes("\0")) id = value;
  };

  const takeLines = (atEnd: boolean): SseEvent[] => {
    const out: SseEvent[] = [];
    let start = 0;
    // Fast path for the usual LF-only stream: native indexOf instead of a per-character walk.
    if (!buffer.includes("\r")) {
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n", start)) {
        takeLine(buffer.slice(start, nl), out);
        start = nl + 1;
      }
      buffer = buffer.slice(start);
      return out;
    }
    for (let i = 0; i < buffer.length; i++) {
      const char = buffer[i];
      if (char !== "\n" && char !== "\r") continue;
      // A CR at the very end may be the first half of a CRLF that the next read completes.
      if (char === "\r" && i === buffer.length - 1 && !atEnd) break;
      takeLine(buffer.slice(start, i), out);
      if (char === "\r" && buffer[i + 1] === "\n") i++;
      start = i + 1;
    }
    buffer = buffer.slice(start);
    return out;
  };

  return {
    push(chunk) {
      buffer += typeof chunk === "string" ? chunk : utf8.decode(chunk, { stream: true });
      return takeLines(false);
    },
    flush() {
      buffer += utf8.decode();
      const out = takeLines(true);
      buffer = "";
      data = [];
      event = "";
      sawData = false;
      return out;
    },
  };
}

/** Yields each event of an event-stream body as soon as its blank line arrives. */
export async function* readSse(stream: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = createSseDecoder();
  for await (const chunk of readChunks(stream)) yield* decoder.push(chunk);
  yield* decoder.flush();
}
