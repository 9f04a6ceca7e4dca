/**
 * A fake vLLM OpenAI-compatible server as documented in reference/wire-formats.md:
 * `/health`, `/version`, `/v1/models`, `/v1/chat/completions` (SSE stream or one JSON).
 * official-clients.test.ts proves the `openai` npm client accepts it.
 */
import {
  applyStop,
  modelTokens,
  jsonModeTokens,
  type FakeModelScript,
  type FakeServerState,
  type Frame,
  jsonResponse,
  planAnswer,
  recordRequest,
  streamBody,
  fakeHandle,
  type FakeHandle,
} from "./fake-stream.ts";
import type { ChatMessage } from "../../lib/core/protocol.ts";

export interface FakeVllmOptions {
  /** Keyed by the served model id. */
  models?: Record<string, FakeModelScript>;
  /** When set, every /v1 request must carry `Authorization: Bearer <apiKey>` (vLLM --api-key). */
  apiKey?: string;
  /** `nested` is vLLM 0.10.1 and later, `flat` the shape before. */
  errorShape?: "nested" | "flat";
}

export type FakeVllm = FakeHandle;

interface ChatBody {
  model?: string;
  stream?: boolean;
  max_tokens?: number;
  max_completion_tokens?: number;
  messages?: ChatMessage[];
  stream_options?: { include_usage?: boolean };
  stop?: string | string[];
  tools?: unknown[];
  tool_choice?: unknown;
  response_format?: { type?: string };
  logprobs?: boolean;
  top_logprobs?: number;
}

export function startFakeVllm(options: FakeVllmOptions = {}): FakeVllm {
  const models = options.models ?? {};
  const state: FakeServerState = { requests: [], aborts: 0, healthy: true };
  const shape = options.errorShape ?? "nested";

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const recorded = await recordRequest(state, request);
      const route = `${request.method} ${recorded.path}`;
      if (route === "GET /health") return new Response(null, { status: state.healthy ? 200 : 503 });
      if (route === "GET /version") return jsonResponse({ version: "0.10.1" });
      if (options.apiKey && request.headers.get("authorization") !== `Bearer ${options.apiKey}`) {
        return jsonResponse({ error: "Unauthorized" }, 401);
      }
      if (!state.healthy) return jsonResponse(errorBody(shape, "The engine is dead.", "InternalServerError", 503), 503);
      if (route === "GET /v1/models") return jsonResponse({ object: "list", data: Object.keys(models).map(describeModel) });
      if (route === "POST /v1/chat/completions") return answerChat(request, recorded.body as ChatBody | undefined);
      return jsonResponse({ detail: "Not Found" }, 404);
    },
  });

  function answerChat(request: Request, chat: ChatBody | undefined): Response {
    const script = chat?.model === undefined ? undefined : models[chat.model];
    if (!chat?.model || !script) {
      return jsonResponse(errorBody(shape, `The model \`${chat?.model ?? ""}\` does not exist.`, "NotFoundError", 404), 404);
    }
    const jsonMode = chat.response_format?.type === "json_object" || chat.response_format?.type === "json_schema";
    const tokens = modelTokens(script, chat.messages);
    const stopped = applyStop(jsonMode ? jsonModeTokens(tokens) : tokens, chat.stop);
    const plan = planAnswer({ ...script, tokens: stopped.tokens }, chat.max_completion_tokens ?? chat.max_tokens);
    const calls = (chat.tools?.length ?? 0) > 0 && chat.tool_choice !== "none" ? (script.toolCalls ?? []) : [];
    const finish = calls.length > 0 ? "tool_calls" : plan.finish;
    const id = `chatcmpl-${crypto.randomUUID().replaceAll("-", "")}`;
    const created = Math.floor(Date.now() / 1000);
    const head = { id, object: "chat.completion.chunk", created, model: chat.model };
    const answerTokens = calls.length > 0 ? [] : plan.tokens;
    const reasoning = script.reasoning ?? [];
    const promptTokens = script.promptTokens ?? 12;
    const completionTokens = script.completionTokens ?? answerTokens.length + reasoning.length + calls.length;
    const usage = { prompt_tokens: promptTokens, total_tokens: promptTokens + completionTokens, completion_tokens: completionTokens };
    const errorMessage = script.errorMessage ?? "Engine loop has died";
    const logprobsOf = (token: string, i: number) =>
      chat.logprobs
        ? { content: [{ token, logprob: -0.25 * (i + 1), bytes: [...new TextEncoder().encode(token)], top_logprobs: Array.from({ length: chat.top_logprobs ?? 0 }, (_, k) => ({ token: `${token}~${k}`, logprob: -0.25 * (i + 1) - k, bytes: null })) }] }
        : null;
    const wholeCalls = calls.map((call, i) => ({ id: `chatcmpl-tool-${id.slice(-8)}${i}`, type: "function", function: call }));

    if (chat.stream !== true) {
      if (plan.ending === "error") return jsonResponse(errorBody(shape, errorMessage, "InternalServerError", 500), 500);
      return jsonResponse({
        id,
        object: "chat.completion",
        created,
        model: chat.model,
        choices: [
          {
            index: 0,
            message: { role: "assistant", reasoning_content: reasoning.length ? reasoning.join("") : null, content: calls.length ? null : answerTokens.join(""), tool_calls: wholeCalls },
            logprobs: chat.logprobs ? { content: answerTokens.flatMap((t, i) => logprobsOf(t, i)?.content ?? []) } : null,
            finish_reason: finish,
            stop_reason: null,
          },
        ],
        usage,
        prompt_logprobs: null,
      });
    }

    const choice = (delta: Record<string, unknown>, finishReason: string | null, logprobs: unknown = null) => ({
      ...head,
      choices: [{ index: 0, delta, logprobs, finish_reason: finishReason, ...(finishReason ? { stop_reason: null } : {}) }],
    });
    const frames: Frame[] = [{ text: event(choice({ role: "assistant", content: "" }, null)) }];
    for (const token of reasoning) frames.push({ text: event(choice({ reasoning_content: token }, null)), delayMs: script.tokenDelayMs });
    for (const [i, token] of answerTokens.entries()) frames.push({ text: event(choice({ content: token }, null, logprobsOf(token, i))), delayMs: script.tokenDelayMs });
    // vLLM streams a call's id and name first, then its arguments in pieces.
    for (const [index, call] of wholeCalls.entries()) {
      frames.push({ text: event(choice({ tool_calls: [{ id: call.id, type: "function", index, function: { name: call.function.name, arguments: "" } }] }, null)) });
      for (let at = 0; at < call.function.arguments.length; at += 5) {
        frames.push({ text: event(choice({ tool_calls: [{ index, function: { arguments: call.function.arguments.slice(at, at + 5) } }] }, null)), delayMs: script.tokenDelayMs });
      }
    }
    if (plan.ending === "error") {
      frames.push({ text: event(errorBody(shape, errorMessage, "InternalServerError", 500)) }, { text: "data: [DONE]\n\n" });
    } else if (plan.ending === "complete") {
      frames.push({ text: event(choice({ content: "" }, finish)), delayMs: script.tokenDelayMs });
      if (chat.stream_options?.include_usage && !script.omitMetrics) frames.push({ text: event({ ...head, choices: [], usage }) });
      frames.push({ text: "data: [DONE]\n\n" });
    }
    return new Response(streamBody(state, request, frames, script), {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" },
    });
  }

  return fakeHandle(server, state);
}

function event(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

function errorBody(shape: "nested" | "flat", message: string, type: string, code: number): Record<string, unknown> {
  return shape === "nested"
    ? { error: { message, type, param: null, code } }
    : { object: "error", message, type, param: null, code };
}

function describeModel(id: string) {
  return { id, object: "model", created: 1_700_000_000, owned_by: "vllm", root: id, parent: null, max_model_len: 8192, permission: [] };
}
