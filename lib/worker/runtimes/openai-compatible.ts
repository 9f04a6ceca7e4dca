/**
 * The bridge to any OpenAI-compatible server: vLLM (runtime `vllm`), llama.cpp's llama-server
 * (runtime `llamacpp`, see llamacpp.ts) or a hosted/other server (runtime `openai`). Streams
 * `/v1/chat/completions` as SSE with usage included, so token counts come from the server and
 * are never guessed.
 */
import { BasisError } from "../../core/errors.ts";
import { OutputCollector, type OutputDelta } from "../../core/output-collector.ts";
import type { FinishReason, InferenceRequest, Logprob, ToolCallDelta, Usage } from "../../core/protocol.ts";
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
import { DEFAULT_LLAMACPP_URL, DEFAULT_VLLM_URL } from "../../core/urls.ts";
import type { RunOptions, RunResult, Runtime } from "./runtime.ts";

const CHECK_TIMEOUT_MS = 10_000;
const FINISH_REASONS: readonly FinishReason[] = ["stop", "length", "tool_calls", "content_filter"];

export type OpenAICompatibleName = "vllm" | "llamacpp" | "openai";

/** What differs between the servers: names in messages, the health route, the hints. */
interface ServerFlavor {
  label: string;
  defaultUrl: string;
  /** A route that answers 200 only when the engine can serve (vLLM, llama-server: /health). */
  healthPath: string | undefined;
  /** The variable that holds the API key. */
  keyVariable: string;
  unhealthyHint: string;
  startHint: string;
  modelHint: (model: string) => string;
}

const FLAVORS: Record<OpenAICompatibleName, ServerFlavor> = {
  vllm: {
    label: "vLLM",
    defaultUrl: DEFAULT_VLLM_URL,
    healthPath: "/health",
    keyVariable: "BASIS_VLLM_API_KEY",
    unhealthyHint: "The engine is not ready or has died; check `docker logs vllm`.",
    startHint: "Start vLLM (e.g. `docker run --gpus all -p 8000:8000 vllm/vllm-openai --model NAME`) or set BASIS_VLLM_URL.",
    modelHint: (model) => `Start vLLM with \`--model ${model}\` or set BASIS_VLLM_MODEL to a model it serves.`,
  },
  llamacpp: {
    label: "llama-server",
    defaultUrl: DEFAULT_LLAMACPP_URL,
    // 503 while the model loads, 200 once slots can take requests.
    healthPath: "/health",
    keyVariable: "BASIS_LLAMACPP_API_KEY",
    unhealthyHint: "llama-server is still loading the model or failed to; check its log.",
    startHint: "Start llama.cpp's server (e.g. `llama-server -m MODEL.gguf --alias NAME --port 8080`) or set BASIS_LLAMACPP_URL.",
    modelHint: (model) => `Start llama-server with \`--alias ${model}\` or set BASIS_LLAMACPP_MODEL to the id GET /v1/models lists.`,
  },
  openai: {
    label: "The OpenAI-compatible server",
    defaultUrl: "",
    healthPath: undefined,
    keyVariable: "BASIS_OPENAI_API_KEY",
    unhealthyHint: "",
    startHint: "Check BASIS_OPENAI_URL and that the server is running.",
    modelHint: () => "Set BASIS_OPENAI_MODEL to a model listed by GET /v1/models.",
  },
};

export interface OpenAICompatibleRuntimeOptions {
  name: OpenAICompatibleName;
  /** BASIS_<RUNTIME>_URL, with or without a trailing `/v1`. */
  baseUrl: string;
  /** BASIS_<RUNTIME>_MODEL. */
  model: string;
  /** BASIS_<RUNTIME>_API_KEY; sent as a Bearer token, never shown. */
  apiKey?: string;
  /** BASIS_WORKER_MODELS; default `[model]`. */
  advertised?: string[];
  fetch?: FetchLike;
  firstTokenTimeoutMs?: number;
  totalTimeoutMs?: number;
}

export class OpenAICompatibleRuntime implements Runtime {
  readonly name: OpenAICompatibleName;
  readonly baseUrl: string;
  readonly model: string;
  readonly advertised: readonly string[];
  readonly #apiKey: string | undefined;
  readonly #fetch: FetchLike;
  readonly #firstTokenTimeoutMs: number;
  readonly #totalTimeoutMs: number;
  readonly #flavor: ServerFlavor;

  constructor(options: OpenAICompatibleRuntimeOptions) {
    this.name = options.name;
    this.#flavor = FLAVORS[options.name];
    this.baseUrl = options.baseUrl || this.#flavor.defaultUrl;
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
    const { healthPath } = this.#flavor;
    if (healthPath) {
      const health = await this.#get(joinUrl(this.#rootUrl(), healthPath), AbortSignal.timeout(CHECK_TIMEOUT_MS));
      await health.body?.cancel();
      if (!health.ok) {
        throw new BasisError("backend_unhealthy", `${this.#label()} at ${describeUrl(this.baseUrl)} answered ${healthPath} with HTTP ${health.status}.`, {
          hint: this.#flavor.unhealthyHint,
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
    const { healthPath } = this.#flavor;
    const url = healthPath ? joinUrl(this.#rootUrl(), healthPath) : this.#apiUrl("/models");
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
        body: JSON.stringify(buildChatBody(request, model, this.name)),
        signal: guard.signal,
      });
      if (!response.ok) throw await this.#responseError(response, "/v1/chat/completions", model);
      if (!response.body) throw new BasisError("backend_bad_response", `${this.#label()} answered with an empty body.`);
      streaming = true;
      const output = new OutputCollector();
      let finish: FinishReason | undefined;
      let usage: Usage = { prompt_tokens: 0, completion_tokens: 0 };
      for await (const event of readSse(response.body)) {
        if (event.data === SSE_DONE) break;
        const chunk = this.#parseChunk(event.data);
        for (const choice of readChoices(chunk)) {
          if (output.add(choice.delta)) guard.gotFirstToken();
          if (choice.delta.content || choice.delta.reasoning || choice.delta.tool_calls || choice.delta.logprobs) options.onDelta(choice.delta);
          if (choice.finishReason) finish = this.#mapFinishReason(choice.finishReason);
        }
        usage = readUsage(chunk) ?? usage;
      }
      if (!finish) {
        throw new BasisError("backend_stream_ended", `${this.#label()}'s stream ended before the answer was complete (no finish_reason).`);
      }
      return {
        text: output.text,
        ...(output.reasoning ? { reasoning: output.reasoning } : {}),
        ...(output.hasToolCalls ? { tool_calls: output.toolCalls() } : {}),
        ...(request.logprobs ? { logprobs: output.logprobs } : {}),
        finish_reason: finish,
        usage,
      };
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
      const variable = this.#flavor.keyVariable;
      return new BasisError("backend_auth_failed", `${this.#label()} refused the API key (HTTP ${response.status}).`, {
        hint: `Check ${variable}.`,
      });
    }
    const code = response.status === 503 || response.status === 429 ? "backend_busy" : "backend_error";
    return new BasisError(code, `${this.#label()} answered ${path} with HTTP ${response.status}: ${message}`);
  }

  /** The server's root (the base URL without `/v1`), for routes outside the OpenAI API. */
  protected rootUrl(): string {
    return this.#rootUrl();
  }

  /** The Bearer header when an API key is set. */
  protected authHeaders(): Record<string, string> {
    return this.#headers();
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
    return this.#flavor.label;
  }

  #startHint(): string {
    return this.#flavor.startHint;
  }

  #modelHint(available: string[]): string {
    const served = available.length > 0 ? ` It serves: ${available.slice(0, 5).join(", ")}.` : "";
    return `${this.#flavor.modelHint(this.model)}${served}`;
  }
}

/**
 * Every parameter passes through under its OpenAI name. The chat templates vLLM and llama-server
 * apply know no `developer` role, so there it becomes `system` (what OpenAI says it replaces).
 */
function buildChatBody(request: InferenceRequest, model: string, runtime: OpenAICompatibleName): Record<string, unknown> {
  const { model: _advertised, messages, ...params } = request;
  return {
    ...params,
    model,
    messages: messages.map((message) => ({
      ...message,
      role: message.role === "developer" && runtime !== "openai" ? "system" : message.role,
      // An assistant turn that only called tools has no content (OpenAI sends null).
      content: message.content === "" && message.tool_calls?.length ? null : message.content,
    })),
    stream: true,
    stream_options: { include_usage: true },
  };
}

function readChoices(chunk: Record<string, unknown>): { delta: OutputDelta; finishReason: string | undefined }[] {
  const choices = Array.isArray(chunk.choices) ? (chunk.choices as Record<string, unknown>[]) : [];
  return choices.map((choice) => {
    const delta = (choice?.delta ?? {}) as Record<string, unknown>;
    // vLLM names reasoning text `reasoning_content`; newer releases also `reasoning`.
    const reasoning = typeof delta.reasoning_content === "string" ? delta.reasoning_content : typeof delta.reasoning === "string" ? delta.reasoning : "";
    const toolCalls = readToolCallDeltas(delta.tool_calls);
    const logprobs = (choice?.logprobs as { content?: unknown } | null | undefined)?.content;
    return {
      delta: {
        ...(typeof delta.content === "string" && delta.content ? { content: delta.content } : {}),
        ...(reasoning ? { reasoning } : {}),
        ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
        ...(Array.isArray(logprobs) && logprobs.length ? { logprobs: logprobs.map(readLogprob) } : {}),
      },
      finishReason: typeof choice?.finish_reason === "string" ? choice.finish_reason : undefined,
    };
  });
}

function readToolCallDeltas(value: unknown): ToolCallDelta[] {
  if (!Array.isArray(value)) return [];
  return value.map((raw: Record<string, unknown>, position) => {
    const fn = (raw?.function ?? {}) as Record<string, unknown>;
    return {
      index: typeof raw?.index === "number" && Number.isInteger(raw.index) && raw.index >= 0 ? raw.index : position,
      ...(typeof raw?.id === "string" && raw.id ? { id: raw.id } : {}),
      ...(raw?.type === "function" ? { type: "function" as const } : {}),
      function: {
        ...(typeof fn.name === "string" && fn.name ? { name: fn.name } : {}),
        ...(typeof fn.arguments === "string" ? { arguments: fn.arguments } : {}),
      },
    };
  });
}

function readLogprob(raw: Record<string, unknown>): Logprob {
  const top = Array.isArray(raw?.top_logprobs) ? (raw.top_logprobs as Record<string, unknown>[]) : [];
  const one = (entry: Record<string, unknown>) => ({
    token: typeof entry?.token === "string" ? entry.token : "",
    logprob: typeof entry?.logprob === "number" && Number.isFinite(entry.logprob) ? entry.logprob : -9999,
    bytes: Array.isArray(entry?.bytes) ? (entry.bytes as number[]).filter((b) => typeof b === "number") : null,
  });
  return { ...one(raw), top_logprobs: top.map(one) };
}

function readUsage(chunk: Record<string, unknown>): Usage | undefined {
  const usage = chunk.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | null | undefined;
  if (!usage || typeof usage !== "object") return undefined;
  return { prompt_tokens: readCount(usage.prompt_tokens), completion_tokens: readCount(usage.completion_tokens) };
}

function readCount(value: unknown): number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : 0;
}
