/**
 * A fake vLLM OpenAI-compatible server as documented in reference/wire-formats.md:
 * `/health`, `/version`, `/v1/models`, `/v1/chat/completions` (SSE stream or one JSON).
 * official-clients.test.ts proves the `openai` npm client accepts it.
 */
import {
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
    const plan = planAnswer(script, chat.max_completion_tokens ?? chat.max_tokens, chat.messages);
    const id = `chatcmpl-${crypto.randomUUID().replaceAll("-", "")}`;
    const created = Math.floor(Date.now() / 1000);
    const head = { id, object: "chat.completion.chunk", created, model: chat.model };
    const promptTokens = script.promptTokens ?? 12;
    const completionTokens = script.completionTokens ?? plan.tokens.length;
    const usage = { prompt_tokens: promptTokens, total_tokens: promptTokens + completionTokens, completion_tokens: completionTokens };
    const errorMessage = script.errorMessage ?? "Engine loop has died";

    if (chat.stream !== true) {
      if (plan.ending === "error") return jsonResponse(errorBody(shape, errorMessage, "InternalServerError", 500), 500);
      return jsonResponse({
        id,
        object: "chat.completion",
        created,
        model: chat.model,
        choices: [{ index: 0, message: { role: "assistant", content: plan.tokens.join(""), tool_calls: [] }, logprobs: null, finish_reason: plan.finish, stop_reason: null }],
        usage,
        prompt_logprobs: null,
      });
    }

    const choice = (delta: Record<string, unknown>, finish: string | null) => ({
      ...head,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, ...(finish ? { stop_reason: null } : {}) }],
    });
    const frames: Frame[] = [{ text: event(choice({ role: "assistant", content: "" }, null)) }];
    for (const token of plan.tokens) frames.push({ text: event(choice({ content: token }, null)), delayMs: script.tokenDelayMs });
    if (plan.ending === "error") {
      frames.push({ text: event(errorBody(shape, errorMessage, "InternalServerError", 500)) }, { text: "data: [DONE]\n\n" });
    } else if (plan.ending === "complete") {
      frames.push({ text: event(choice({ content: "" }, plan.finish)), delayMs: script.tokenDelayMs });
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
