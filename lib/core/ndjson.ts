/**
 * Incremental NDJSON reading (Ollama streams one JSON object per line). Network reads cut the
 * stream anywhere: inside a line, inside a multibyte UTF-8 character, or after several lines,
 * so bytes are buffered until a `\n` completes a line.
 */
import { BasisError } from "./errors.ts";

export interface LineDecoder {
  /** Feed the next chunk; returns the lines it completed (without `\n`/`\r\n`, empty lines skipped). */
  push(chunk: Uint8Array | string): string[];
  /** End of input: returns a last line that had no trailing newline, if any. */
  flush(): string[];
}

export function createLineDecoder(): LineDecoder {
  const utf8 = new TextDecoder("utf-8");
  let buffer = "";

  const takeLines = (): string[] => {
    const parts = buffer.split("\n");
    buffer = parts.pop() ?? "";
    return parts.map(stripCarriageReturn).filter((line) => line.trim() !== "");
  };

  return {
    push(chunk) {
      buffer += typeof chunk === "string" ? chunk : utf8.decode(chunk, { stream: true });
      return takeLines();
    },
    flush() {
      buffer += utf8.decode();
      const rest = stripCarriageReturn(buffer);
      buffer = "";
      return rest.trim() === "" ? [] : [rest];
    },
  };
}

function stripCarriageReturn(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/** Parse one NDJSON line; a line that is not a JSON object is a backend fault, not ours. */
export function parseJsonLine(line: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (cause) {
    throw new BasisError("backend_bad_response", `The backend sent a line that is not JSON: ${clip(line)}`, { cause });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BasisError("backend_bad_response", `The backend sent a line that is not a JSON object: ${clip(line)}`);
  }
  return value as Record<string, unknown>;
}

/** Yields each JSON object of an NDJSON byte stream as soon as its line is complete. */
export async function* readNdjson(stream: ReadableStream<Uint8Array>): AsyncGenerator<Record<string, unknown>> {
  const decoder = createLineDecoder();
  for await (const chunk of readChunks(stream)) {
    for (const line of decoder.push(chunk)) yield parseJsonLine(line);
  }
  for (const line of decoder.flush()) yield parseJsonLine(line);
}

/**
 * Reads a byte stream chunk by chunk. Leaving the loop early (break, throw) cancels the stream,
 * which closes the connection, so the backend stops generating for nobody.
 */
export async function* readChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let finished = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        return;
      }
      yield value;
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

function clip(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}
