/**
 * The worker's configuration, read once from an environment record (process env merged with
 * an --env-file) through the env contract (env-schema.ts). After this edge the worker trusts
 * its types; only rules that join two variables live here.
 */
import { BasisError } from "./errors.ts";
import { type EnvRecord, readEnv, SECRET_ENV_NAMES, WORKER_ENV } from "./env-schema.ts";
import type { RuntimeName } from "./protocol.ts";
import { SECRET_WARNING, secretKind } from "./secrets.ts";
import { parseWallet } from "./wallet.ts";
import { defaultWorkerId } from "./worker-id.ts";

export interface BackendConfig {
  url: string;
  model: string | undefined;
  apiKey: string | undefined;
}

/** Worker timings in milliseconds (BASIS_*_MS). */
export interface WorkerTimings {
  firstTokenTimeoutMs: number;
  jobTimeoutMs: number;
  heartbeatMs: number;
  healthPollMs: number;
  drainTimeoutMs: number;
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
  timings: WorkerTimings;
}

function fail(code: string, message: string, hint?: string): never {
  throw new BasisError(code, message, { exitCode: 2, hint });
}

/** Every non-secret BASIS_* value is checked, known or not: a key pasted into the wrong (or a misspelt) variable is refused. */
function refuseSecretShapedValues(env: EnvRecord): void {
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("BASIS_") || !value) continue;
    if (SECRET_ENV_NAMES.includes(name)) continue;
    if (secretKind(value)) fail("secret_refused", `Refused ${name}: ${SECRET_WARNING}`, `Remove that value from ${name}.`);
  }
}

type WorkerEnv = ReturnType<typeof readEnv<typeof WORKER_ENV>>;

function backendFor(runtime: RuntimeName, env: WorkerEnv): BackendConfig {
  switch (runtime) {
    case "ollama":
      return { url: env.BASIS_OLLAMA_URL, model: env.BASIS_OLLAMA_MODEL, apiKey: undefined };
    case "vllm":
      return { url: env.BASIS_VLLM_URL, model: env.BASIS_VLLM_MODEL, apiKey: env.BASIS_VLLM_API_KEY };
    case "llamacpp":
      return { url: env.BASIS_LLAMACPP_URL, model: env.BASIS_LLAMACPP_MODEL, apiKey: env.BASIS_LLAMACPP_API_KEY };
    case "openai":
      return { url: env.BASIS_OPENAI_URL ?? "", model: env.BASIS_OPENAI_MODEL, apiKey: env.BASIS_OPENAI_API_KEY };
    case "echo":
      return { url: "", model: undefined, apiKey: undefined };
  }
}

export function readWorkerConfig(raw: EnvRecord, hostname: string): WorkerConfig {
  refuseSecretShapedValues(raw);
  const env = readEnv(WORKER_ENV, raw);
  const wallet = env.BASIS_WORKER_WALLET ?? parseWallet(undefined, "BASIS_WORKER_WALLET");
  const runtime = env.BASIS_WORKER_RUNTIME;
  const backend = backendFor(runtime, env);
  if (runtime === "openai" && !backend.url) {
    fail("backend_url_missing", "The openai runtime needs BASIS_OPENAI_URL.", "Set it to your server's base URL, e.g. http://127.0.0.1:8080.");
  }
  if (runtime !== "echo" && !backend.model) {
    const name = `BASIS_${runtime.toUpperCase()}_MODEL`;
    fail("backend_model_missing", `The ${runtime} runtime needs ${name}.`, `Set ${name} to the model your backend serves.`);
  }
  let models = env.BASIS_WORKER_MODELS;
  if (models.length === 0) models = runtime === "echo" ? ["basis-default"] : [backend.model as string];
  for (const model of Object.keys(env.BASIS_WORKER_MODEL_CONCURRENCY)) {
    if (!models.includes(model)) {
      fail("model_concurrency_malformed", `BASIS_WORKER_MODEL_CONCURRENCY names ${model.slice(0, 64)}, which is not in BASIS_WORKER_MODELS.`);
    }
  }
  return {
    wallet,
    workerId: env.BASIS_WORKER_ID ?? defaultWorkerId(hostname),
    runtime,
    models,
    orchestratorUrl: env.BASIS_ORCHESTRATOR_URL,
    token: env.BASIS_WORKER_TOKEN,
    authKey: env.BASIS_WORKER_AUTH_KEY,
    concurrency: env.BASIS_WORKER_CONCURRENCY,
    modelConcurrency: env.BASIS_WORKER_MODEL_CONCURRENCY,
    backend,
    timings: {
      firstTokenTimeoutMs: env.BASIS_FIRST_TOKEN_TIMEOUT_MS,
      jobTimeoutMs: env.BASIS_JOB_TIMEOUT_MS,
      heartbeatMs: env.BASIS_HEARTBEAT_MS,
      healthPollMs: env.BASIS_HEALTH_POLL_MS,
      drainTimeoutMs: env.BASIS_DRAIN_TIMEOUT_MS,
    },
  };
}
