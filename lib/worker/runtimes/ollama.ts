/**
 * The Ollama bridge: native `/api/chat` streaming (NDJSON), `/api/tags` to check the model is
 * there, `/api/pull` to fetch it. Native rather than Ollama's OpenAI side because only the
 * native stream says `done_reason` and the token counts on every version.
 */
import { BasisError } from "../../core/errors.ts";
import { readNdjson } from "../../core/ndjson.ts";
import { OutputCollector, type OutputDelta } from "../../core/output-collector.ts";
import { type ChatMessage, type FinishReason, type InferenceRequest, maxOutputTokens, type ToolCallDelta, type Usage } from "../../core/protocol.ts";
import { createPullProgressTracker, type PullProgress } from "../../core/pull-progress.ts";
import {
  createRunGuard,
  DEFAULT_FIRST_TOKEN_TIMEOUT_MS,
  DEFAULT_TOTAL_TIMEOUT_MS,
  extractErrorMessage,
  type FetchLike,
  probeOk,
  oneLine,
  readErrorBody,
  unreachableError,
} from "./backend-errors.ts";
import { describeUrl, joinUrl } from "../../core/public-url.ts";
import { DEFAULT_OLLAMA_URL } from "../../core/urls.ts";
import type { RunOptions, RunResult, Runtime } from "./runtime.ts";

const CHECK_TIMEOUT_MS = 10_000;
const START_HINT = "Start Ollama (`ollama serve`) or set BASIS_OLLAMA_URL to where it listens.";

export interface OllamaRuntimeOptions {
  /** BASIS_OLLAMA_URL; default http://127.0.0.1:11434. */
  baseUrl?: string;
  /** BASIS_OLLAMA_MODEL: the model Ollama runs every job on. */
  model: string;
  /** BASIS_WORKER_MODELS: the names offered to the orchestrator; default `[model]`. */
  advertised?: string[];
  fetch?: FetchLike;
  firstTokenTimeoutMs?: number;
  totalTimeoutMs?: number;
  /** Clock for pull rates; tests pass their own. */
  now?: () => number;
}

export class OllamaRuntime implements Runtime {
  readonly name = "ollama" as const;
  readonly baseUrl: string;
  readonly model: string;
  readonly advertised: readonly string[];
  readonly #fetch: FetchLike;
  readonly #firstTokenTimeoutMs: number;
  readonly #totalTimeoutMs: number;
  readonly #now: () => number;

  constructor(options: OllamaRuntimeOptions) {
    this.baseUrl = options.baseUrl || DEFAULT_OLLAMA_URL;
    this.model = options.model;
    this.advertised = options.advertised?.length ? [...options.advertised] : [options.model];
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#firstTokenTimeoutMs = options.firstTokenTimeoutMs ?? DEFAULT_FIRST_TOKEN_TIMEOUT_MS;
    this.#totalTimeoutMs = options.totalTimeoutMs ?? DEFAULT_TOTAL_TIMEOUT_MS;
    this.#now = options.now ?? Date.now;
  }

  /** Every advertised name is an alias of the one model this Ollama serves. */
  backendModel(_advertised: string): string {
    return this.model;
  }

  async check(): Promise<void> {
    const response = await this.#get("/api/tags", AbortSignal.timeout(CHECK_TIMEOUT_MS));
    if (!response.ok) {
      throw new BasisError("backend_error", `Ollama at ${describeUrl(this.baseUrl)} answered /api/tags with HTTP ${response.status}: ${await readErrorBody(response)}`);
    }
    const body = (await response.json().catch(() => ({}))) as { models?: { name?: unknown; model?: unknown }[] };
    const names = (body.models ?? []).flatMap((entry) => [entry.name, entry.model]).filter((name) => typeof name === "string");
    if (!names.some((name) => isSameOllamaModel(name, this.model))) {
      throw new BasisError("model_missing", `Ollama at ${describeUrl(this.baseUrl)} does not have the model "${this.model}".`, {
        hint: `Run \`ollama pull ${this.model}\` (or \`basis-worker start --pull\`).`,
        details: { model: this.model, available: [...new Set(names)] },
      });
    }
  }

  async healthy(): Promise<boolean> {
    return await probeOk(this.#fetch, joinUrl(this.baseUrl, "/api/version"));
  }

  async run(request: InferenceRequest, options: RunOptions): Promise<RunResult> {
    const model = this.backendModel(request.model);
    const guard = createRunGuard({
      signal: options.signal,
      firstTokenTimeoutMs: this.#firstTokenTimeoutMs,
      totalTimeoutMs: this.#totalTimeoutMs,
    });
    let streaming = false;
    try {
      const response = await this.#fetch(joinUrl(this.baseUrl, "/api/chat"), {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/x-ndjson" },
        body: JSON.stringify(buildChatBody(request, model)),
        signal: guard.signal,
      });
      if (!response.ok) throw await this.#responseError(response, model);
      if (!response.body) throw new BasisError("backend_bad_response", "Ollama answered /api/chat with an empty body.");
      streaming = true;
      const output = new OutputCollector();
      let calls = 0;
      for await (const line of readNdjson(response.body)) {
        const error = extractErrorMessage(line);
        if (error !== undefined) throw new BasisError("backend_error", `Ollama failed mid-answer: ${oneLine(error)}`);
        const delta = readDelta(line, calls);
        calls += delta.tool_calls?.length ?? 0;
        if (output.add(delta)) {
          guard.gotFirstToken();
          options.onDelta(delta);
        }
        if (line.done === true) {
          return {
            text: output.text,
            ...(output.reasoning ? { reasoning: output.reasoning } : {}),
            ...(output.hasToolCalls ? { tool_calls: output.toolCalls() } : {}),
            // Ollama's done_reason stays "stop" when the model called tools; OpenAI says tool_calls.
            finish_reason: output.hasToolCalls ? "tool_calls" : readFinishReason(line),
            usage: readUsage(line),
          };
        }
      }
      throw new BasisError("backend_stream_ended", "Ollama's stream ended before the answer was complete (no done line).");
    } catch (error) {
      throw guard.failure(error, (cause) =>
        streaming
          ? new BasisError("backend_stream_ended", `Ollama's stream broke off: ${oneLine(String(cause))}`, { cause })
          : unreachableError("Ollama", this.baseUrl, START_HINT, cause),
      );
    } finally {
      guard.dispose();
    }
  }

  /** Downloads a model through `/api/pull`, reporting each progress line. */
  async pull(model: string, onProgress: (progress: PullProgress) => void, signal?: AbortSignal): Promise<void> {
    let response: Response;
    try {
      response = await this.#fetch(joinUrl(this.baseUrl, "/api/pull"), {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/x-ndjson" },
        // Ollama before 0.4 reads `name`, later versions `model`.
        body: JSON.stringify({ model, name: model, stream: true }),
        signal,
      });
    } catch (cause) {
      throw unreachableError("Ollama", this.baseUrl, START_HINT, cause);
    }
    if (!response.ok || !response.body) {
      throw pullFailed(model, `HTTP ${response.status}: ${await readErrorBody(response)}`);
    }
    const tracker = createPullProgressTracker();
    for await (const line of readNdjson(response.body)) {
      const error = extractErrorMessage(line);
      if (error !== undefined) throw pullFailed(model, oneLine(error));
      if (typeof line.status !== "string") continue;
      if (line.status === "success") return;
      onProgress(tracker.update({
        status: line.status,
        ...(typeof line.digest === "string" ? { digest: line.digest } : {}),
        ...(typeof line.total === "number" ? { total: line.total } : {}),
        ...(typeof line.completed === "number" ? { completed: line.completed } : {}),
      }, this.#now()));
    }
    throw pullFailed(model, "the stream ended before Ollama reported success");
  }

  async #get(path: string, signal: AbortSignal): Promise<Response> {
    try {
      return await this.#fetch(joinUrl(this.baseUrl, path), { signal });
    } catch (cause) {
      throw unreachableError("Ollama", this.baseUrl, START_HINT, cause);
    }
  }

  async #responseError(response: Response, model: string): Promise<BasisError> {
    const message = await readErrorBody(response);
    if (response.status === 404) {
      return new BasisError("model_not_found", `Ollama does not have the model "${model}" (${message}).`, {
        hint: `Run \`ollama pull ${model}\` (or \`basis-worker start --pull\`).`,
      });
    }
    const code = response.status === 503 || response.status === 429 ? "backend_busy" : "backend_error";
    return new BasisError(code, `Ollama answered HTTP ${response.status}: ${message}`);
  }
}

/** Ollama names without a tag mean `:latest`; names are case-insensitive. */
export function isSameOllamaModel(a: string, b: string): boolean {
  return normaliseOllamaModel(a) === normaliseOllamaModel(b);
}

function normaliseOllamaModel(name: string): string {
  const lower = name.trim().toLowerCase();
  const last = lower.slice(lower.lastIndexOf("/") + 1);
  return last.includes(":") ? lower : `${lower}:latest`;
}

/**
 * The OpenAI parameters in Ollama's own terms: sampling and limits in `options`, JSON mode and
 * schemas in `format`, tools in `tools`, reasoning in `think`. Ollama knows no `developer`
 * role (it becomes `system`) and keys tool answers by function name, not call id.
 */
function buildChatBody(request: InferenceRequest, model: string): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  const limit = maxOutputTokens(request);
  if (limit !== undefined) options.num_predict = limit;
  if (request.temperature !== undefined) options.temperature = request.temperature;
  if (request.top_p !== undefined) options.top_p = request.top_p;
  if (request.stop !== undefined) options.stop = request.stop;
  if (request.seed !== undefined) options.seed = request.seed;
  if (request.presence_penalty !== undefined) options.presence_penalty = request.presence_penalty;
  if (request.frequency_penalty !== undefined) options.frequency_penalty = request.frequency_penalty;
  const format = request.response_format;
  const tools = request.tool_choice === "none" ? [] : (request.tools ?? []);
  return {
    model,
    messages: toOllamaMessages(request.messages),
    stream: true,
    ...(Object.keys(options).length > 0 ? { options } : {}),
    ...(format?.type === "json_object" ? { format: "json" } : {}),
    ...(format?.type === "json_schema" ? { format: format.json_schema.schema ?? {} } : {}),
    ...(tools.length > 0 ? { tools: tools.map(({ type, function: fn }) => ({ type, function: { name: fn.name, description: fn.description ?? "", parameters: fn.parameters ?? {} } })) } : {}),
    ...(request.reasoning_effort !== undefined ? { think: request.reasoning_effort !== "none" } : {}),
  };
}

function toOllamaMessages(messages: readonly ChatMessage[]): Record<string, unknown>[] {
  const toolNames = new Map<string, string>();
  return messages.map((message) => {
    const role = message.role === "developer" ? "system" : message.role;
    const out: Record<string, unknown> = { role, content: message.content };
    if (message.tool_calls?.length) {
      out.tool_calls = message.tool_calls.map((call) => {
        toolNames.set(call.id, call.function.name);
        return { function: { name: call.function.name, arguments: parseArguments(call.function.arguments) } };
      });
    }
    if (message.role === "tool" && message.tool_call_id) {
      const name = toolNames.get(message.tool_call_id);
      if (name) out.tool_name = name;
    }
    return out;
  });
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text || "{}");
  } catch {
    return {};
  }
}

/** Ollama sends each tool call whole, with arguments as an object; OpenAI streams JSON text by index. */
function readDelta(line: Record<string, unknown>, callsSoFar: number): OutputDelta {
  const message = (line.message ?? {}) as Record<string, unknown>;
  const rawCalls = Array.isArray(message.tool_calls) ? (message.tool_calls as Record<string, unknown>[]) : [];
  const toolCalls: ToolCallDelta[] = rawCalls.map((call, i) => {
    const fn = (call?.function ?? {}) as Record<string, unknown>;
    const args = typeof fn.arguments === "string" ? fn.arguments : JSON.stringify(fn.arguments ?? {});
    const index = callsSoFar + i;
    return {
      index,
      id: typeof call?.id === "string" && call.id ? call.id : `call_${index}_${crypto.randomUUID().slice(0, 8)}`,
      type: "function",
      function: { name: typeof fn.name === "string" ? fn.name : "", arguments: args },
    };
  });
  return {
    ...(typeof message.content === "string" && message.content ? { content: message.content } : {}),
    ...(typeof message.thinking === "string" && message.thinking ? { reasoning: message.thinking } : {}),
    ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
  };
}

function readFinishReason(line: Record<string, unknown>): FinishReason {
  return line.done_reason === "length" ? "length" : "stop";
}

function readUsage(line: Record<string, unknown>): Usage {
  return { prompt_tokens: readCount(line.prompt_eval_count), completion_tokens: readCount(line.eval_count) };
}

function readCount(value: unknown): number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : 0;
}

function pullFailed(model: string, why: string): BasisError {
  return new BasisError("pull_failed", `Ollama could not pull "${model}": ${why}`, {
    hint: `Check the name on https://ollama.com/library, then run \`ollama pull ${model}\`.`,
  });
}
