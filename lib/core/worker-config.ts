/**
 * The worker's configuration, read once from an environment record (process env merged with
 * an --env-file). After this edge the worker trusts its types.
 */
import * as v from "valibot";
import { BasisError } from "./errors.ts";
import { type RuntimeName, RuntimeNameSchema } from "./protocol.ts";
import { SECRET_ENV_NAMES, SECRET_WARNING, secretKind } from "./secrets.ts";
import { parseWallet } from "./wallet.ts";

export const DEFAULT_ORCHESTRATOR_URL = "ws://localhost:8787";
export const DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434";
export const DEFAULT_VLLM_URL = "http://127.0.0.1:8000";
export const DEFAULT_LLAMACPP_URL = "http://127.0.0.1:8080";
export const WORKER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export interface BackendConfig {
  url: string;
  model: string | undefined;
  apiKey: string | undefined;
}

export interface WorkerConfig {
  wallet: `0x${string}`;
  workerId: string;
  runtime: RuntimeName;
  /** Advertised models; empty means "the backend model itself" (resolved by the runtime). */
  models: string[];
  orchestratorUrl: string;
  token: string | undefined;
  authKey: string | undefined;
  concurrency: number;
  /** Per-model limits within `concurrency` (BASIS_WORKER_MODEL_CONCURRENCY=model=n,...). */
  modelConcurrency: Record<string, number>;
  backend: BackendConfig;
}

type Env = Readonly<Record<string, string | undefined>>;

function fail(code: string, message: string, hint?: string): never {
  throw new BasisError(code, message, { exitCode: 2, hint });
}

/** A stable id from the host name: readable slug plus a short hash so two hosts rarely collide. */
export function defaultWorkerId(hostname: string): string {
  const slug = hostname.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "host";
  let hash = 0x811c9dc5;
  for (let i = 0; i < hostname.length; i++) {
    hash ^= hostname.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `${slug}-${hash.toString(16).padStart(8, "0").slice(0, 6)}`;
}

export function parseWorkerId(value: string): string {
  if (secretKind(value)) fail("secret_refused", `Refused the worker id: ${SECRET_WARNING}`);
  if (!WORKER_ID_PATTERN.test(value)) {
    fail(
      "worker_id_malformed",
      "The worker id must be 1-63 characters of letters, digits, '.', '_' or '-', starting with a letter or digit.",
      "Pick a short slug such as my-gpu-1.",
    );
  }
  return value;
}

export function parseRuntimeName(value: string): RuntimeName {
  const result = v.safeParse(RuntimeNameSchema, value);
  if (!result.success) {
    fail("runtime_unknown", `Unknown runtime "${value.slice(0, 32)}".`, "Use one of: echo, ollama, vllm, llamacpp, openai.");
  }
  return result.output;
}

export function parseModelList(value: string | undefined): string[] {
  const models = (value ?? "").split(",").map((m) => m.trim()).filter(Boolean);
  for (const model of models) {
    if (secretKind(model)) fail("secret_refused", `Refused a model name: ${SECRET_WARNING}`);
    if (model.length > 200 || /\s/.test(model)) fail("model_malformed", "A model name is over 200 characters or has spaces.");
  }
  return [...new Set(models)];
}

/**
 * One orchestrator URL, or several separated by commas (instances of one cluster): the worker
 * connects to the first and, when a connection is lost or cannot be made, tries the next.
 */
export function parseOrchestratorUrl(value: string): string {
  const urls = value.split(",").map((part) => part.trim());
  if (urls.length > 1) {
    if (urls.some((part) => part === "")) fail("orchestrator_url_malformed", "BASIS_ORCHESTRATOR_URL has an empty entry in its comma-separated list.", "Use ws://a:8787,ws://b:8787.");
    return urls.map(parseOneOrchestratorUrl).join(",");
  }
  return parseOneOrchestratorUrl(value);
}

function parseOneOrchestratorUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail("orchestrator_url_malformed", "BASIS_ORCHESTRATOR_URL is not a URL.", "Use ws://host:8787 or wss://host.");
  }
  if (!["ws:", "wss:", "http:", "https:"].includes(url.protocol)) {
    fail("orchestrator_url_malformed", "BASIS_ORCHESTRATOR_URL must use ws, wss, http or https.", "Use ws://host:8787 or wss://host.");
  }
  if (url.username || url.password) {
    fail("orchestrator_url_malformed", "BASIS_ORCHESTRATOR_URL must not carry credentials.", "Put the token in BASIS_WORKER_TOKEN.");
  }
  return value;
}

function parseConcurrency(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return 1;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || Number(value) > 1024) {
    fail("concurrency_malformed", "BASIS_WORKER_CONCURRENCY must be a whole number from 1 to 1024.");
  }
  return Number(value);
}

function parseModelConcurrency(value: string | undefined, models: readonly string[]): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const item of (value ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = item.lastIndexOf("=");
    const model = item.slice(0, eq).trim();
    const count = item.slice(eq + 1).trim();
    if (eq <= 0 || !/^\d+$/.test(count) || Number(count) < 1) {
      fail("model_concurrency_malformed", "BASIS_WORKER_MODEL_CONCURRENCY must read model=n[,model=n...] with n >= 1.");
    }
    if (!models.includes(model)) {
      fail("model_concurrency_malformed", `BASIS_WORKER_MODEL_CONCURRENCY names ${model.slice(0, 64)}, which is not in BASIS_WORKER_MODELS.`);
    }
    limits[model] = Number(count);
  }
  return limits;
}

/** Every non-secret BASIS_* value is checked: a key pasted into the wrong variable is refused. */
function refuseSecretShapedValues(env: Env): void {
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("BASIS_") || !value) continue;
    if ((SECRET_ENV_NAMES as readonly string[]).includes(name)) continue;
    if (secretKind(value)) fail("secret_refused", `Refused ${name}: ${SECRET_WARNING}`, `Remove that value from ${name}.`);
  }
}

function backendFor(runtime: RuntimeName, env: Env): BackendConfig {
  switch (runtime) {
    case "ollama":
      return { url: env.BASIS_OLLAMA_URL || DEFAULT_OLLAMA_URL, model: env.BASIS_OLLAMA_MODEL || undefined, apiKey: undefined };
    case "vllm":
      return { url: env.BASIS_VLLM_URL || DEFAULT_VLLM_URL, model: env.BASIS_VLLM_MODEL || undefined, apiKey: env.BASIS_VLLM_API_KEY || undefined };
    case "llamacpp":
      return {
        url: env.BASIS_LLAMACPP_URL || DEFAULT_LLAMACPP_URL,
        model: env.BASIS_LLAMACPP_MODEL || undefined,
        apiKey: env.BASIS_LLAMACPP_API_KEY || undefined,
      };
    case "openai":
      return { url: env.BASIS_OPENAI_URL || "", model: env.BASIS_OPENAI_MODEL || undefined, apiKey: env.BASIS_OPENAI_API_KEY || undefined };
    case "echo":
      return { url: "", model: undefined, apiKey: undefined };
  }
}

export function readWorkerConfig(env: Env, hostname: string): WorkerConfig {
  refuseSecretShapedValues(env);
  const wallet = parseWallet(env.BASIS_WORKER_WALLET, "BASIS_WORKER_WALLET");
  const runtime = parseRuntimeName(env.BASIS_WORKER_RUNTIME?.trim() || "echo");
  const backend = backendFor(runtime, env);
  if (runtime === "openai" && !backend.url) {
    fail("backend_url_missing", "The openai runtime needs BASIS_OPENAI_URL.", "Set it to your server's base URL, e.g. http://127.0.0.1:8080.");
  }
  if (runtime !== "echo" && !backend.model) {
    const name = `BASIS_${runtime.toUpperCase()}_MODEL`;
    fail("backend_model_missing", `The ${runtime} runtime needs ${name}.`, `Set ${name} to the model your backend serves.`);
  }
  let models = parseModelList(env.BASIS_WORKER_MODELS);
  if (models.length === 0) models = runtime === "echo" ? ["basis-default"] : [backend.model as string];
  return {
    wallet,
    workerId: parseWorkerId(env.BASIS_WORKER_ID?.trim() || defaultWorkerId(hostname)),
    runtime,
    models,
    orchestratorUrl: parseOrchestratorUrl(env.BASIS_ORCHESTRATOR_URL?.trim() || DEFAULT_ORCHESTRATOR_URL),
    token: env.BASIS_WORKER_TOKEN || undefined,
    authKey: env.BASIS_WORKER_AUTH_KEY || undefined,
    concurrency: parseConcurrency(env.BASIS_WORKER_CONCURRENCY),
    modelConcurrency: parseModelConcurrency(env.BASIS_WORKER_MODEL_CONCURRENCY, models),
    backend,
  };
}
