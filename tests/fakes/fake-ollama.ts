/**
 * A fake Ollama speaking the native API as documented in reference/wire-formats.md:
 * `/`, `/api/version`, `/api/tags`, `/api/chat` (NDJSON stream or one JSON), `/api/pull`.
 * official-clients.test.ts proves the `ollama` npm client accepts it.
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
  type WritePattern,
  fakeHandle,
  type FakeHandle,
} from "./fake-stream.ts";
import type { ChatMessage } from "../../lib/core/protocol.ts";

export interface FakePullScript {
  layers?: { digest: string; total: number }[];
  /** Progress lines per layer. */
  steps?: number;
  /** Send this as an `{"error"}` line after the manifest instead of layers. */
  error?: string;
  stepDelayMs?: number;
  pattern?: WritePattern;
}

export interface FakeOllamaOptions {
  /** Keyed by model name; a name without a tag is listed as `name:latest`. */
  models?: Record<string, FakeModelScript>;
  /** Models `/api/pull` can fetch; a pulled model then answers with `pulledTokens`. */
  pulls?: Record<string, FakePullScript>;
  pulledTokens?: string[];
  version?: string;
}

export type FakeOllama = FakeHandle;

const NDJSON = { "content-type": "application/x-ndjson" };

export function startFakeOllama(options: FakeOllamaOptions = {}): FakeOllama {
  const models = new Map(Object.entries(options.models ?? {}).map(([name, script]) => [withTag(name), script]));
  const state: FakeServerState = { requests: [], aborts: 0, healthy: true };

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const recorded = await recordRequest(state, request);
      if (!state.healthy) return jsonResponse({ error: "server unavailable" }, 503);
      const route = `${request.method} ${recorded.path}`;
      if (route === "GET /" || route === "HEAD /") return new Response("Ollama is running", { headers: { "content-type": "text/plain; charset=utf-8" } });
      if (route === "GET /api/version") return jsonResponse({ version: options.version ?? "0.5.1" });
      if (route === "GET /api/tags") return jsonResponse({ models: [...models.keys()].map(describeModel) });
      if (route === "POST /api/chat") return answerChat(request, recorded.body);
      if (route === "POST /api/pull") return answerPull(request, recorded.body);
      return new Response("404 page not found", { status: 404, headers: { "content-type": "text/plain" } });
    },
  });

  function answerChat(request: Request, body: unknown): Response {
    const chat = body as
      | {
          model?: string;
          stream?: boolean;
          messages?: ChatMessage[];
          options?: { num_predict?: number; stop?: string[] };
          format?: unknown;
          tools?: unknown[];
          think?: boolean;
        }
      | undefined;
    if (!chat?.model) return jsonResponse({ error: "model is required" }, 400);
    const script = models.get(withTag(chat.model));
    if (!script) return jsonResponse({ error: `model "${chat.model}" not found, try pulling it first` }, 404);
    const tokens = modelTokens(script, chat.messages);
    const stopped = applyStop(chat.format !== undefined ? jsonModeTokens(tokens) : tokens, chat.options?.stop);
    const plan = planAnswer({ ...script, tokens: stopped.tokens }, chat.options?.num_predict);
    // Ollama sends each tool call whole, arguments as an object, in one message; no call ids.
    const calls = (chat.tools?.length ?? 0) > 0 ? (script.toolCalls ?? []) : [];
    const answerTokens = calls.length > 0 ? [] : plan.tokens;
    // Thinking models send `thinking` only when asked to think.
    const thinking = chat.think === true ? (script.reasoning ?? []) : [];
    const created = new Date().toISOString();
    const message = (fields: Record<string, unknown>) => ({ model: chat.model, created_at: created, message: { role: "assistant", content: "", ...fields }, done: false });
    const toolCalls = calls.map((call) => ({ function: { name: call.name, arguments: JSON.parse(call.arguments) as unknown } }));
    const final = {
      model: chat.model,
      created_at: created,
      message: { role: "assistant", content: "" },
      done: true,
      done_reason: plan.finish,
      ...metrics(script, answerTokens.length + thinking.length + calls.length),
    };
    if (chat.stream === false) {
      if (plan.ending === "error") return jsonResponse({ error: script.errorMessage ?? "model runner has unexpectedly stopped" }, 500);
      return jsonResponse({
        ...final,
        message: { role: "assistant", content: answerTokens.join(""), ...(thinking.length ? { thinking: thinking.join("") } : {}), ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
      });
    }
    const frames: Frame[] = [
      ...thinking.map((token) => ({ text: line(message({ thinking: token })), delayMs: script.tokenDelayMs })),
      ...answerTokens.map((token) => ({ text: line(message({ content: token })), delayMs: script.tokenDelayMs })),
      ...(toolCalls.length ? [{ text: line(message({ tool_calls: toolCalls })), delayMs: script.tokenDelayMs }] : []),
    ];
    if (plan.ending === "error") frames.push({ text: line({ error: script.errorMessage ?? "model runner has unexpectedly stopped" }) });
    if (plan.ending === "complete") frames.push({ text: line(final), delayMs: script.tokenDelayMs });
    return new Response(streamBody(state, request, frames, script), { headers: NDJSON });
  }

  function answerPull(request: Request, body: unknown): Response {
    const pull = body as { model?: string; name?: string } | undefined;
    const name = pull?.model ?? pull?.name;
    if (!name) return jsonResponse({ error: "model is required" }, 400);
    const script = options.pulls?.[name] ?? options.pulls?.[withTag(name)];
    const frames: Frame[] = [{ text: line({ status: "pulling manifest" }) }];
    if (!script) {
      frames.push({ text: line({ error: "pull model manifest: file does not exist" }) });
    } else if (script.error) {
      frames.push({ text: line({ error: script.error }) });
    } else {
      for (const layer of script.layers ?? [{ digest: `sha256:${"6a0746a1ec1a".padEnd(64, "0")}`, total: 2_142_590_208 }]) {
        const status = `pulling ${layer.digest.replace(/^sha256:/, "").slice(0, 12)}`;
        const steps = script.steps ?? 4;
        for (let step = 0; step <= steps; step++) {
          const completed = Math.round((layer.total * step) / steps);
          frames.push({
            text: line({ status, digest: layer.digest, total: layer.total, ...(completed > 0 ? { completed } : {}) }),
            delayMs: script.stepDelayMs,
          });
        }
      }
      frames.push({ text: line({ status: "verifying sha256 digest" }) }, { text: line({ status: "writing manifest" }) });
      frames.push({ text: line({ status: "success" }) });
      models.set(withTag(name), { tokens: options.pulledTokens ?? ["ok"] });
    }
    return new Response(streamBody(state, request, frames, { pattern: script?.pattern }), { headers: NDJSON });
  }

  return fakeHandle(server, state);
}

function line(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

function withTag(name: string): string {
  return name.slice(name.lastIndexOf("/") + 1).includes(":") ? name : `${name}:latest`;
}

/** Ollama omits metric fields that are zero; `omitMetrics` drops the counts altogether. */
function metrics(script: FakeModelScript, sent: number): Record<string, number> {
  const out: Record<string, number> = { total_duration: 182_242_375, load_duration: 41_295_167 };
  if (script.omitMetrics) return out;
  const prompt = script.promptTokens ?? 12;
  const completion = script.completionTokens ?? sent;
  if (prompt > 0) Object.assign(out, { prompt_eval_count: prompt, prompt_eval_duration: 24_573_166 });
  if (completion > 0) Object.assign(out, { eval_count: completion, eval_duration: 115_959_084 });
  return out;
}

function describeModel(name: string) {
  return {
    name,
    model: name,
    modified_at: "2025-01-01T00:00:00.000000000Z",
    size: 2_019_393_189,
    digest: "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
    details: { format: "gguf", family: "llama", families: ["llama"], parameter_size: "3.2B", quantization_level: "Q4_K_M" },
  };
}
