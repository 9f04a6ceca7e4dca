/**
 * The bridge to any OpenAI-compatible server: vLLM (runtime `vllm`) or a hosted/other server
 * (runtime `openai`). Streams `/v1/chat/completions` as SSE with usage included, so token
 * counts come from the server and are never guessed.
 */
import { BasisError } from "../../core/errors.ts";
import type { FinishReason, InferenceRequest, Usage } from "../../core/protocol.ts";
import { readSse, SSE_DONE } from "../../core/sse.ts";
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
import { redact } from "../../core/secrets.ts";
import { DEFAULT_VLLM_URL } from "../../core/urls.ts";
import type { RunOptions, RunResult, Runtime } from "./runtime.ts";

const CHECK_TIMEOUT_MS = 10_000;
const FINISH_REASONS: readonly FinishReason[] = ["stop", "length", "tool_calls", "content_filter"];

export interface OpenAICompatibleRuntimeOptions {
  name: "vllm" | "openai";
  /** BASIS_VLLM_URL / BASIS_OPENAI_URL, with or without a trailing `/v1`. */
  baseUrl: string;
  /** BASIS_VLLM_MODEL / BASIS_OPENAI_MODEL. */
  model: string;
  /** BASIS_VLLM_API_KEY / BASIS_OPENAI_API_KEY; sent as a Bearer token, never shown. */
  apiKey?: string;
  /** BASIS_WORKER_MODELS; default `[model]`. */
  advertised?: string[];
  fetch?: FetchLike;
  firstTokenTimeoutMs?: number;
  totalTimeoutMs?: number;
}

export class OpenAICompatibleRuntime implements Runtime {
  readonly name: "vllm" | "openai";
  readonly baseUrl: string;
  readonly model: string;
  readonly advertised: readonly string[];
  readonly #apiKey: string | undefined;
  readonly #fetch: FetchLike;
  readonly #firstTokenTimeoutMs: number;
  readonly #totalTimeoutMs: number;

  constructor(options: OpenAICompatibleRuntimeOptions) {
    this.name = options.name;
    this.baseUrl = options.baseUrl || (options.name === "vllm" ? DEFAULT_VLLM_URL : "");
    this.model = options.model;
    this.advertised = options.advertised?.length ? [...options.advertised] : [options.model];
    this.#apiKey = options.apiKey || undefined;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#firstTokenTimeoutMs = options.firstTokenTimeoutMs ?? DEFAULT_FIRST_TOKEN_TIMEOUT_MS;
    this.#totalTimeoutMs = options.totalTimeoutMs ?? DEFAULT_TOTAL_TIMEOUT_MS;
  }

  backendModel(_advertised: string): string {
    return this.model;
  }

  async check(): Promise<void> {
    if (this.name === "vllm") {
      const health = await this.#get(joinUrl(this.#rootUrl(), "/health"), AbortSignal.timeout(CHECK_TIMEOUT_MS));
      await health.body?.cancel();
      if (!health.ok) {
        throw new BasisError("backend_unhealthy", `vLLM at ${describeUrl(this.baseUrl)} answered /health with HTTP ${health.status}.`, {
          hint: "The engine is not ready or has died; check `docker logs vllm`.",
        });
      }
    }
    const response = await this.#get(this.#apiUrl("/models"), AbortSignal.timeout(CHECK_TIMEOUT_MS));
    if (!response.ok) throw await this.#responseError(response, "/v1/models");
    const body = (await response.json().catch(() => ({}))) as { data?: { id?: unknown }[] };
    const ids = (body.data ?? []).map((entry) => entry.id).filter((id) => typeof id === "string");
    if (!ids.includes(this.model)) {
      throw new BasisError("model_missing", `${this.#label()} at ${describeUrl(this.baseUrl)} does not serve the model "${this.model}".`, {
        hint: this.#modelHint(ids),
        details: { model: this.model, available: ids },
      });
    }
  }

  async healthy(): Promise<boolean> {
    const url = this.name === "vllm" ? joinUrl(this.#rootUrl(), "/health") : this.#apiUrl("/models");
    return await probeOk(this.#fetch, url, this.#headers());
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
      const response = await this.#fetch(this.#apiUrl("/chat/completions"), {
        method: "POST",
        headers: { ...this.#headers(), "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify(buildChatBody(request, model)),
        signal: guard.signal,
      });
      if (!response.ok) throw await this.#responseError(response, "/v1/chat/completions", model);
      if (!response.body) throw new BasisError("backend_bad_response", `${this.#label()} answered with an empty body.`);
      streaming = true;
      let text = "";
      let finish: FinishReason | undefined;
      let usage: Usage = { prompt_tokens: 0, completion_tokens: 0 };
      for await (const event of readSse(response.body)) {
        if (event.data === SSE_DONE) break;
        const chunk = this.#parseChunk(event.data);
        for (const choice of readChoices(chunk)) {
          if (choice.content) {
            guard.gotFirstToken();
            text += choice.content;
            options.onDelta(choice.content);
          }
          if (choice.finishReason) finish = this.#mapFinishReason(choice.finishReason);
        }
        usage = readUsage(chunk) ?? usage;
      }
      if (!finish) {
        throw new BasisError("backend_stream_ended", `${this.#label()}'s stream ended before the answer was complete (no finish_reason).`);
      }
      return { text, finish_reason: finish, usage };
    } catch (error) {
      throw guard.failure(error, (cause) =>
        streaming
          ? new BasisError("backend_stream_ended", `${this.#label()}'s stream broke off: ${this.#clean(String(cause))}`, { cause })
          : unreachableError(this.#label(), this.baseUrl, this.#startHint(), cause),
      );
    } finally {
      guard.dispose();
    }
  }

  #parseChunk(data: string): Record<string, unknown> {
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch (cause) {
      throw new BasisError("backend_bad_response", `${this.#label()} sent an event that is not JSON: ${this.#clean(data)}`, { cause });
    }
    const error = extractErrorMessage(chunk);
    if (error !== undefined) throw new BasisError("backend_error", `${this.#label()} failed mid-answer: ${this.#clean(error)}`);
    if (typeof chunk !== "object" || chunk === null) {
      throw new BasisError("backend_bad_response", `${this.#label()} sent an event that is not a JSON object.`);
    }
    return chunk as Record<string, unknown>;
  }

  #mapFinishReason(reason: string): FinishReason {
    if ((FINISH_REASONS as readonly string[]).includes(reason)) return reason as FinishReason;
    // vLLM ends a request it gave up on with "abort" or "error": that answer is not complete.
    if (reason === "abort" || reason === "error") {
      throw new BasisError("backend_error", `${this.#label()} ended the answer with finish_reason "${reason}".`);
    }
    return "stop";
  }

  async #get(url: string, signal: AbortSignal): Promise<Response> {
    try {
      return await this.#fetch(url, { headers: this.#headers(), signal });
    } catch (cause) {
      throw unreachableError(this.#label(), this.baseUrl, this.#startHint(), cause);
    }
  }

  async #responseError(response: Response, path: string, model = this.model): Promise<BasisError> {
    const message = this.#clean(await readErrorBody(response));
    if (response.status === 404 && path !== "/v1/models") {
      return new BasisError("model_not_found", `${this.#label()} does not serve the model "${model}" (${message}).`, {
        hint: this.#modelHint([]),
      });
    }
    if (response.status === 401 || response.status === 403) {
      const variable = this.name === "vllm" ? "BASIS_VLLM_API_KEY" : "BASIS_OPENAI_API_KEY";
      return new BasisError("backend_auth_failed", `${this.#label()} refused the API key (HTTP ${response.status}).`, {
        hint: `Check ${variable}.`,
      });
    }
    const code = response.status === 503 || response.status === 429 ? "backend_busy" : "backend_error";
    return new BasisError(code, `${this.#label()} answered ${path} with HTTP ${response.status}: ${message}`);
  }

  #headers(): Record<string, string> {
    return this.#apiKey ? { authorization: `Bearer ${this.#apiKey}` } : {};
  }

  /** Accepts base URLs given with or without `/v1` (hosted APIs are usually quoted with it). */
  #apiUrl(path: string): string {
    return joinUrl(this.#rootUrl(), `/v1${path}`);
  }

  #rootUrl(): string {
    return this.baseUrl.replace(/\/+$/, "").replace(/\/v1$/, "");
  }

  #clean(text: string): string {
    return oneLine(redact(text, [this.#apiKey]));
  }

  #label(): string {
    return this.name === "vllm" ? "vLLM" : "The OpenAI-compatible server";
  }

  #startHint(): string {
    return this.name === "vllm"
      ? "Start vLLM (e.g. `docker run --gpus all -p 8000:8000 vllm/vllm-openai --model NAME`) or set BASIS_VLLM_URL."
      : "Check BASIS_OPENAI_URL and that the server is running.";
  }

  #modelHint(available: string[]): string {
    const served = available.length > 0 ? ` It serves: ${available.slice(0, 5).join(", ")}.` : "";
    return this.name === "vllm"
      ? `Start vLLM with \`--model ${this.model}\` or set BASIS_VLLM_MODEL to a model it serves.${served}`
      : `Set BASIS_OPENAI_MODEL to a model listed by GET /v1/models.${served}`;
  }
}

function buildChatBody(request: InferenceRequest, model: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model,
    messages: request.messages.map(({ role, content }) => ({ role, content })),
    stream: true,
    stream_options: { include_usage: true },
  };
  if (request.max_tokens !== undefined) body.max_tokens = request.max_tokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.top_p !== undefined) body.top_p = request.top_p;
  if (request.stop !== undefined) body.stop = request.stop;
  if (request.seed !== undefined) body.seed = request.seed;
  return body;
}

function readChoices(chunk: Record<string, unknown>): { content: string; finishReason: string | undefined }[] {
  const choices = Array.isArray(chunk.choices) ? (chunk.choices as Record<string, unknown>[]) : [];
  return choices.map((choice) => {
    const delta = choice?.delta as { content?: unknown } | undefined;
    return {
      content: typeof delta?.content === "string" ? delta.content : "",
      finishReason: typeof choice?.finish_reason === "string" ? choice.finish_reason : undefined,
    };
  });
}

function readUsage(chunk: Record<string, unknown>): Usage | undefined {
  const usage = chunk.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | null | undefined;
  if (!usage || typeof usage !== "object") return undefined;
  return { prompt_tokens: readCount(usage.prompt_tokens), completion_tokens: readCount(usage.completion_tokens) };
}

function readCount(value: unknown): number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : 0;
}
