/**
 * A fast OpenAI-compatible backend for the benchmarks: `/v1/chat/completions` (one JSON, or SSE
 * with one event per token, as vLLM sends them, written as fast as the socket takes them),
 * `/v1/models` and `/health`. It answers `max_tokens` tokens of " tok" so a benchmark chooses the
 * answer length; it does no work per token beyond copying pre-encoded bytes. A spot check it
 * answers like an instruction-following model (docs/SPOT-CHECKS.md).
 * Run as a process: `bun bench/fake-openai.ts --port-file F [--port N] [--token-delay-ms MS]` (the
 * harness does). A token delay makes a slow backend: one event per token, each after the delay,
 * so the reliability tests can kill a process while a job is still streaming.
 */
import { renameSync } from "node:fs";
import { parseArgs } from "node:util";
import type { ChatMessage } from "../lib/core/protocol.ts";
import { followSpotCheck } from "../lib/core/spot-check.ts";

export const FAKE_MODEL = "bench-model";
export const FAKE_TOKEN = " tok";
const DEFAULT_TOKENS = 16;
/** Events per write: real servers flush each token, but one write per token would measure the fake. */
const EVENTS_PER_WRITE = 64;

export interface FakeOpenAI {
  url: string;
  port: number;
  stop(): Promise<void>;
}

interface ChatBody {
  model?: unknown;
  max_tokens?: unknown;
  stream?: unknown;
  stream_options?: { include_usage?: unknown };
  messages?: unknown;
}

const encoder = new TextEncoder();

function countTokens(body: ChatBody): number {
  const n = body.max_tokens;
  return typeof n === "number" && Number.isInteger(n) && n > 0 ? n : DEFAULT_TOKENS;
}

function completion(model: string, tokens: number): Response {
  return Response.json({
    id: "chatcmpl-bench",
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: "assistant", content: FAKE_TOKEN.repeat(tokens) }, logprobs: null, finish_reason: "length" }],
    usage: { prompt_tokens: 8, completion_tokens: tokens, total_tokens: 8 + tokens },
  });
}

function sseEvent(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/**
 * A spot check (docs/SPOT-CHECKS.md) is answered the way an instruction-following model does:
 * with the words it asks for, one token each, whole or streamed.
 */
function spotCheckAnswer(model: string, words: string, stream: boolean, includeUsage: boolean): Response {
  const tokens = words.split(" ").map((word, i) => (i === 0 ? word : ` ${word}`));
  const usage = { prompt_tokens: 8, completion_tokens: tokens.length, total_tokens: 8 + tokens.length };
  const created = Math.floor(Date.now() / 1000);
  if (!stream) {
    return Response.json({
      id: "chatcmpl-bench",
      object: "chat.completion",
      created,
      model,
      choices: [{ index: 0, message: { role: "assistant", content: words }, logprobs: null, finish_reason: "stop" }],
      usage,
    });
  }
  const base = { id: "chatcmpl-bench", object: "chat.completion.chunk", created, model };
  const events = [
    sseEvent({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] }),
    ...tokens.map((token) => sseEvent({ ...base, choices: [{ index: 0, delta: { content: token }, logprobs: null, finish_reason: null }] })),
    sseEvent({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }] }),
    ...(includeUsage ? [sseEvent({ ...base, choices: [], usage })] : []),
    "data: [DONE]\n\n",
  ];
  return new Response(events.join(""), { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
}

/** One event per token, each after `delayMs`: a slow model, for fault injection mid-stream. */
function slowStream(head: string, token: string, tail: string, tokens: number, delayMs: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent === 0) controller.enqueue(encoder.encode(head));
      if (sent === tokens) {
        controller.enqueue(encoder.encode(tail));
        controller.close();
        return;
      }
      await Bun.sleep(delayMs);
      controller.enqueue(encoder.encode(token));
      sent++;
    },
  });
}

function completionStream(model: string, tokens: number, includeUsage: boolean, delayMs: number): Response {
  const base = { id: "chatcmpl-bench", object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model };
  const head = sseEvent({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] });
  const token = sseEvent({ ...base, choices: [{ index: 0, delta: { content: FAKE_TOKEN }, logprobs: null, finish_reason: null }] });
  let tail = sseEvent({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "length" }] });
  if (includeUsage) tail += sseEvent({ ...base, choices: [], usage: { prompt_tokens: 8, completion_tokens: tokens, total_tokens: 8 + tokens } });
  tail += "data: [DONE]\n\n";
  if (delayMs > 0) {
    return new Response(slowStream(head, token, tail, tokens, delayMs), { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
  }
  const fullBatch = encoder.encode(token.repeat(EVENTS_PER_WRITE));
  let sent = 0;
  let started = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(encoder.encode(head));
        return;
      }
      const left = tokens - sent;
      if (left <= 0) {
        controller.enqueue(encoder.encode(tail));
        controller.close();
        return;
      }
      const n = Math.min(left, EVENTS_PER_WRITE);
      controller.enqueue(n === EVENTS_PER_WRITE ? fullBatch : encoder.encode(token.repeat(n)));
      sent += n;
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
}

export function startFakeOpenAI(port = 0, tokenDelayMs = 0): FakeOpenAI {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port,
    idleTimeout: 0,
    async fetch(request) {
      const { pathname } = new URL(request.url);
      if (request.method === "GET" && pathname === "/health") return new Response(null, { status: 200 });
      if (request.method === "GET" && pathname === "/v1/models") {
        return Response.json({ object: "list", data: [{ id: FAKE_MODEL, object: "model", created: 0, owned_by: "bench" }] });
      }
      if (request.method === "POST" && pathname === "/v1/chat/completions") {
        const body = (await request.json().catch(() => ({}))) as ChatBody;
        const model = typeof body.model === "string" ? body.model : FAKE_MODEL;
        if (model !== FAKE_MODEL) return Response.json({ error: { message: `model ${model} not found`, type: "NotFoundError", code: 404 } }, { status: 404 });
        const followed = followSpotCheck(Array.isArray(body.messages) ? (body.messages as ChatMessage[]) : []);
        if (followed) return spotCheckAnswer(model, followed, body.stream === true, body.stream_options?.include_usage === true);
        const tokens = countTokens(body);
        if (body.stream === true) return completionStream(model, tokens, body.stream_options?.include_usage === true, tokenDelayMs);
        if (tokenDelayMs > 0) await Bun.sleep(tokenDelayMs * tokens);
        return completion(model, tokens);
      }
      return Response.json({ error: { message: "not found", type: "NotFoundError", code: 404 } }, { status: 404 });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, port: server.port as number, stop: () => server.stop(true) };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { "port-file": { type: "string" }, port: { type: "string" }, "token-delay-ms": { type: "string" } } });
  const fake = startFakeOpenAI(Number(values.port ?? 0), Number(values["token-delay-ms"] ?? 0));
  const portFile = values["port-file"];
  if (portFile) {
    // Written then renamed, so the harness never reads a half-written port.
    await Bun.write(`${portFile}.tmp`, String(fake.port));
    renameSync(`${portFile}.tmp`, portFile);
  } else {
    console.log(fake.url);
  }
  process.on("SIGTERM", () => void fake.stop().then(() => process.exit(0)));
}
