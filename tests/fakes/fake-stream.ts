/**
 * What the fake backends share: the per-model script, how frames are cut into writes (to
 * exercise split and coalesced reads), and a streamed body that notices a client going away.
 * Test-only: uses Bun.serve freely.
 */
import type { ChatMessage } from "../../lib/core/protocol.ts";
import { followSpotCheck } from "../../lib/core/spot-check.ts";

/** How a stream's frames (one NDJSON line or one SSE event each) are written to the socket. */
export type WritePattern =
  /** One write per frame. */
  | "frame"
  /** Each frame cut into `splitBytes`-byte writes, cutting lines and UTF-8 characters. */
  | "split"
  /** Three frames per write. */
  | "coalesce";

export interface FakeModelScript {
  /** The answer, token by token. */
  tokens: string[];
  pattern?: WritePattern;
  /** Bytes per write in the `split` pattern (default 5). */
  splitBytes?: number;
  /** Force a finish reason; `length` also comes from max_tokens/num_predict below the token count. */
  finish?: "stop" | "length";
  promptTokens?: number;
  /** Default: the number of tokens sent. */
  completionTokens?: number;
  /** Ollama: the final line carries no counts. vLLM: no usage chunk even when asked. */
  omitMetrics?: boolean;
  /** After this many tokens, send the backend's mid-stream error and end. */
  errorAfterTokens?: number;
  errorMessage?: string;
  /** After this many tokens, close the stream without a final line / [DONE]. */
  endAfterTokens?: number;
  tokenDelayMs?: number;
  /** Send headers, then nothing until the client goes away. */
  silent?: boolean;
  /** Answer the scripted tokens even to a spot check (a model that follows no instruction). */
  ignoresInstructions?: boolean;
  /** When the request offers tools (and tool_choice is not "none"): call these instead of answering. */
  toolCalls?: { name: string; arguments: string }[];
  /** Reasoning text, token by token, sent before the answer (vLLM `reasoning_content`, Ollama `thinking`). */
  reasoning?: string[];
}

/**
 * The tokens the model answers `messages` with: like an instruction-following model, a spot
 * check's words (docs/SPOT-CHECKS.md), unless the script ignores instructions; else the script's.
 */
export function modelTokens(script: FakeModelScript, messages: readonly ChatMessage[] | undefined): string[] {
  const followed = script.ignoresInstructions ? undefined : followSpotCheck(messages ?? []);
  return followed ? followed.split(" ").map((word, i) => (i === 0 ? word : ` ${word}`)) : script.tokens;
}

/** What a JSON-mode answer is: the script's answer as one JSON object, cut into pieces. */
export function jsonModeTokens(tokens: string[]): string[] {
  const text = JSON.stringify({ answer: tokens.join("") });
  const pieces: string[] = [];
  for (let at = 0; at < text.length; at += 6) pieces.push(text.slice(at, at + 6));
  return pieces;
}

/** Cuts `tokens` before the first stop string, as servers do (the stop string is not sent). */
export function applyStop(tokens: string[], stop: string | string[] | undefined): { tokens: string[]; stopped: boolean } {
  const stops = stop === undefined ? [] : typeof stop === "string" ? [stop] : stop;
  const text = tokens.join("");
  const at = Math.min(...stops.map((s) => text.indexOf(s)).filter((i) => i >= 0), text.length);
  if (at === text.length) return { tokens, stopped: false };
  const kept: string[] = [];
  let used = 0;
  for (const token of tokens) {
    if (used >= at) break;
    kept.push(token.slice(0, at - used));
    used += token.length;
  }
  return { tokens: kept.filter(Boolean), stopped: true };
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

/** A frame to write and how long to wait before writing it. */
export interface Frame {
  text: string;
  delayMs?: number;
}

export interface FakeServerState {
  requests: RecordedRequest[];
  aborts: number;
  healthy: boolean;
}

/** Gap between the pieces of a split frame, so they reach the client in separate reads. */
const SPLIT_GAP_MS = 2;
const encoder = new TextEncoder();

export async function recordRequest(state: FakeServerState, request: Request): Promise<RecordedRequest> {
  const url = new URL(request.url);
  const text = request.method === "GET" || request.method === "HEAD" ? "" : await request.text();
  let body: unknown = undefined;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  const recorded = { method: request.method, path: url.pathname, headers: Object.fromEntries(request.headers), body };
  state.requests.push(recorded);
  return recorded;
}

export function cutIntoWrites(frames: Frame[], pattern: WritePattern, splitBytes = 5): { bytes: Uint8Array; delayMs: number }[] {
  if (pattern === "coalesce") {
    const writes: { bytes: Uint8Array; delayMs: number }[] = [];
    for (let i = 0; i < frames.length; i += 3) {
      const group = frames.slice(i, i + 3);
      writes.push({
        bytes: encoder.encode(group.map((frame) => frame.text).join("")),
        delayMs: group.reduce((sum, frame) => sum + (frame.delayMs ?? 0), 0),
      });
    }
    return writes;
  }
  if (pattern === "split") {
    return frames.flatMap((frame) => {
      const bytes = encoder.encode(frame.text);
      const pieces: { bytes: Uint8Array; delayMs: number }[] = [];
      for (let at = 0; at < bytes.length; at += splitBytes) {
        pieces.push({ bytes: bytes.slice(at, at + splitBytes), delayMs: at === 0 ? (frame.delayMs ?? 0) : SPLIT_GAP_MS });
      }
      return pieces;
    });
  }
  return frames.map((frame) => ({ bytes: encoder.encode(frame.text), delayMs: frame.delayMs ?? 0 }));
}

/**
 * A streamed response body. A client that goes away before the last write counts as one
 * abort; the tests read that counter to prove cancellation reached the backend.
 */
export function streamBody(
  state: FakeServerState,
  request: Request,
  frames: Frame[],
  script: Pick<FakeModelScript, "pattern" | "splitBytes" | "silent">,
): ReadableStream<Uint8Array> {
  const writes = cutIntoWrites(frames, script.pattern ?? "frame", script.splitBytes);
  let finished = false;
  let isGone = false;
  let next = 0;
  const gone = Promise.withResolvers<void>();
  const noteAbort = () => {
    if (isGone) return;
    isGone = true;
    gone.resolve();
    if (!finished) state.aborts++;
  };
  request.signal.addEventListener("abort", noteAbort, { once: true });

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (script.silent) {
        await gone.promise;
        return;
      }
      const write = writes[next++];
      if (!write) {
        finished = true;
        controller.close();
        return;
      }
      if (write.delayMs > 0) await Promise.race([Bun.sleep(write.delayMs), gone.promise]);
      if (isGone) return;
      controller.enqueue(write.bytes);
      if (next >= writes.length) {
        // Counted as finished once the last byte is handed over, so a client that reads it and
        // hangs up at once is not mistaken for one that left mid-stream.
        finished = true;
        controller.close();
      }
    },
    cancel() {
      noteAbort();
    },
  });
}

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8" } });
}

/** Tokens to send, the finish reason, and whether the run ends early (error or cut). */
export function planAnswer(script: FakeModelScript, maxTokens: number | undefined): {
  tokens: string[];
  finish: "stop" | "length";
  ending: "complete" | "error" | "cut";
} {
  let tokens = script.tokens;
  let finish = script.finish ?? "stop";
  if (maxTokens !== undefined && maxTokens < tokens.length) {
    tokens = tokens.slice(0, maxTokens);
    finish = "length";
  }
  if (script.errorAfterTokens !== undefined) return { tokens: tokens.slice(0, script.errorAfterTokens), finish, ending: "error" };
  if (script.endAfterTokens !== undefined) return { tokens: tokens.slice(0, script.endAfterTokens), finish, ending: "cut" };
  return { tokens, finish, ending: "complete" };
}

/** What a test holds of a running fake: its URL, what it saw, and its switches. */
export interface FakeHandle {
  url: string;
  requests: RecordedRequest[];
  /** Streams whose client went away before the last write. */
  readonly aborts: number;
  setHealthy(healthy: boolean): void;
  close(): Promise<void>;
}

export function fakeHandle(server: { port?: number | undefined; stop(force?: boolean): Promise<void> | void }, state: FakeServerState): FakeHandle {
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests: state.requests,
    get aborts() {
      return state.aborts;
    },
    setHealthy(healthy) {
      state.healthy = healthy;
    },
    async close() {
      await server.stop(true);
    },
  };
}
