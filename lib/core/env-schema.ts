/**
 * The env contract: every environment variable the two programs read, one line each, with its
 * type, range, default and whether it is a secret. `basis-worker` reads WORKER_ENV,
 * `basis-canary serve` reads ORCHESTRATOR_ENV; both check the whole table at start, so a bad
 * value stops the program with exit 2, naming the variable and what was expected, and never
 * quoting the value (it may be a secret pasted into the wrong place).
 *
 * Adding a variable is one entry below. tests/e2e/env-schema.test.ts walks these tables, so a
 * new numeric variable is checked against the compiled binaries without touching the test.
 * docs/ENV.md describes the same tables for people.
 */
import * as v from "valibot";
import { BasisError } from "./errors.ts";
import { SECRET_WARNING, secretKind } from "./secrets.ts";
import { DEFAULT_BASE_URL, DEFAULT_LLAMACPP_URL, DEFAULT_OLLAMA_URL, DEFAULT_ORCHESTRATOR_URL, DEFAULT_VLLM_URL, describeUrlRule, parseBaseUrl, parseOrchestratorUrl, type UrlRule, urlProblem } from "./urls.ts";
import { parseWallet } from "./wallet.ts";
import { parseModelConcurrency, parseModelList, parseRuntimeName } from "./worker-fields.ts";
import { parseWorkerId } from "./worker-id.ts";

export type EnvRecord = Readonly<Record<string, string | undefined>>;

export interface EnvVar<Out> {
  /** Checks and converts the trimmed, non-empty text. A domain parser may throw its own BasisError (exit 2). */
  readonly schema: v.GenericSchema<string, Exclude<Out, undefined>>;
  /** The value when the variable is unset or blank. */
  readonly fallback: Out;
  /** What a good value is, worded to follow "must be": "a whole number from 1 to 1024". */
  readonly expected: string;
  readonly secret: boolean;
  /** One line for docs/ENV.md. */
  readonly doc: string;
  /** Set for numeric variables: the inclusive range (the table-driven test probes both ends). */
  readonly range?: { readonly min: number; readonly max: number };
}

export type EnvSchema = Readonly<Record<string, EnvVar<unknown>>>;
export type EnvValues<S extends EnvSchema> = { -readonly [K in keyof S]: S[K] extends EnvVar<infer Out> ? Out : never };

/** The longest delay a timer takes (2^31 - 1 ms, about 24.8 days); beyond it setTimeout fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

function entry<T, D extends T | undefined>(schema: v.GenericSchema<string, T>, expected: string, doc: string, fallback: D, extra: Partial<Pick<EnvVar<T>, "secret" | "range">> = {}): EnvVar<D extends undefined ? T | undefined : T> {
  return { schema, expected, doc, fallback, secret: extra.secret ?? false, ...(extra.range ? { range: extra.range } : {}) } as EnvVar<D extends undefined ? T | undefined : T>;
}

/** A whole number in [min, max]. */
function whole<D extends number | undefined>(doc: string, fallback: D, min: number, max: number, unit = "") {
  const schema = v.pipe(v.string(), v.regex(/^\d{1,16}$/), v.transform(Number), v.minValue(min), v.maxValue(max));
  return entry(schema, `a whole number${unit} from ${min} to ${max}`, doc, fallback, { range: { min, max } });
}

/** A duration in whole milliseconds, [min, max]. */
function ms<D extends number | undefined>(doc: string, fallback: D, min = 1, max = MAX_TIMER_MS) {
  return whole(doc, fallback, min, max, " of milliseconds");
}

/** 0 (off) or a duration in whole milliseconds, [min, max]. */
function msOrOff<D extends number | undefined>(doc: string, fallback: D, min: number, max: number) {
  const schema = v.pipe(v.string(), v.regex(/^\d{1,16}$/), v.transform(Number), v.check((n) => n === 0 || (n >= min && n <= max)));
  return entry(schema, `0 (off) or a whole number of milliseconds from ${min} to ${max}`, doc, fallback, { range: { min: 0, max } });
}

/** One of a few words, case-insensitive. */
function choice<const W extends readonly [string, ...string[]], D extends W[number] | undefined>(words: W, doc: string, fallback: D) {
  const schema = v.pipe(v.string(), v.toLowerCase(), v.picklist(words));
  const expected = words.length === 1 ? words[0] : `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
  return entry(schema as v.GenericSchema<string, W[number]>, expected, doc, fallback);
}

function url<D extends string | undefined>(rule: UrlRule, doc: string, fallback: D) {
  return entry(v.pipe(v.string(), v.check((text) => urlProblem(text, rule) === undefined)), describeUrlRule(rule), doc, fallback);
}

/** Free text (a model name); a key or seed phrase in it is refused. */
function text(doc: string) {
  return entry(v.string(), "text", doc, undefined);
}

/** A secret: never printed, never in an error, never written by a program. */
function secret(doc: string) {
  return entry(v.string(), "a secret", doc, undefined, { secret: true });
}

/** Delegates to the domain parser, which throws its own code (wallet_malformed, runtime_unknown...). */
function parsed<T, D extends T | undefined>(parse: (text: string) => T, expected: string, doc: string, fallback: D) {
  return entry(v.pipe(v.string(), v.transform(parse)), expected, doc, fallback);
}

const BACKEND_URL: UrlRule = { protocols: ["http", "https"], credentials: true };
const logLevel = choice(["debug", "info", "quiet"], "How much both programs log on stderr.", "info");

/** `basis-worker` (every command; `start` checks the whole table). */
export const WORKER_ENV = {
  BASIS_WORKER_WALLET: parsed((t) => parseWallet(t, "BASIS_WORKER_WALLET"), "a PUBLIC 0x + 40-hex wallet address", "Your PUBLIC reward wallet address (required by start).", undefined),
  BASIS_WORKER_ID: parsed(parseWorkerId, "a short slug", "The worker id (default: derived from the host name).", undefined),
  BASIS_WORKER_RUNTIME: parsed(parseRuntimeName, "echo, ollama, vllm, llamacpp or openai", "The inference backend.", "echo"),
  BASIS_WORKER_MODELS: parsed(parseModelList, "a comma-separated list of model names", "Basis model names to advertise (default: the backend model; basis-default for echo).", [] as string[]),
  BASIS_ORCHESTRATOR_URL: parsed((t) => parseOrchestratorUrl(t), "a ws, wss, http or https URL, or a comma-separated list of them", "The orchestrator (a list: instances of one cluster, tried in turn); a path is a reverse-proxy prefix.", DEFAULT_ORCHESTRATOR_URL),
  BASIS_WORKER_TOKEN: secret("Worker token from the orchestrator operator."),
  BASIS_WORKER_AUTH_KEY: secret("Auth key from the orchestrator operator; the worker derives its wallet-bound token from it."),
  BASIS_WORKER_CONCURRENCY: whole("Jobs this worker runs at the same time.", 1, 1, 1024),
  BASIS_WORKER_MODEL_CONCURRENCY: parsed(parseModelConcurrency, "model=n[,model=n...]", "Per-model limits within BASIS_WORKER_CONCURRENCY.", {} as Record<string, number>),
  BASIS_OLLAMA_URL: url(BACKEND_URL, "Ollama server (runtime ollama).", DEFAULT_OLLAMA_URL),
  BASIS_OLLAMA_MODEL: text("Ollama model that serves the jobs (required by runtime ollama)."),
  BASIS_VLLM_URL: url(BACKEND_URL, "vLLM server (runtime vllm).", DEFAULT_VLLM_URL),
  BASIS_VLLM_MODEL: text("vLLM model id (required by runtime vllm)."),
  BASIS_VLLM_API_KEY: secret("vLLM API key, if vLLM was started with --api-key."),
  BASIS_LLAMACPP_URL: url(BACKEND_URL, "llama.cpp's llama-server (runtime llamacpp).", DEFAULT_LLAMACPP_URL),
  BASIS_LLAMACPP_MODEL: text("The model id llama-server lists in /v1/models, its --alias (required by runtime llamacpp)."),
  BASIS_LLAMACPP_API_KEY: secret("llama-server API key, if it was started with --api-key."),
  BASIS_OPENAI_URL: url(BACKEND_URL, "OpenAI-compatible server base URL (required by runtime openai).", undefined),
  BASIS_OPENAI_MODEL: text("Model to request from that server (required by runtime openai)."),
  BASIS_OPENAI_API_KEY: secret("API key for that server, if it needs one."),
  BASIS_BASE_URL: parsed(parseBaseUrl, "an http or https URL without credentials, query or fragment", "Basis network API (register, status, healthcheck, price publish); --base wins.", DEFAULT_BASE_URL),
  BASIS_WORKER_PRIVATE_KEY: secret("The reward wallet's key, read only by `price publish` (its default --key-env); never by start."),
  BASIS_FIRST_TOKEN_TIMEOUT_MS: ms("How long a backend may take to its first token.", 120_000),
  BASIS_JOB_TIMEOUT_MS: ms("How long a backend may take for a whole job.", 600_000),
  BASIS_HEARTBEAT_MS: ms("How often the worker logs a heartbeat line.", 30_000),
  BASIS_HEALTH_POLL_MS: ms("How often the worker checks its backend while connected.", 5_000),
  BASIS_DRAIN_TIMEOUT_MS: ms("How long SIGTERM waits for running jobs before exiting.", 30_000),
  BASIS_LOG_LEVEL: logLevel,
} as const;

/** `basis-canary serve`, the reference orchestrator and Basis API. */
export const ORCHESTRATOR_ENV = {
  BASIS_WORKER_AUTH_KEY: secret("Master key workers authenticate with (wallet-bound tokens derive from it); at least 32 bytes, e.g. `openssl rand -hex 32`. Unset with no BASIS_WORKER_TOKENS: dev mode."),
  BASIS_WORKER_TOKENS: secret("Comma-separated static worker tokens accepted besides the auth key."),
  BASIS_ORCHESTRATOR_SECRET: secret("Bearer token clients need for /v1/dispatch and /v1/chat/completions; unset: open to anyone who reaches the port."),
  INTERNAL_API_SECRET: secret("Enables the verification route that marks price offers verified."),
  PORT: whole("Port when --port is not given (0 picks a free one).", 8787, 0, 65535),
  BASIS_JOB_TIMEOUT_MS: ms("How long a dispatched job may run before the client gets 504.", 120_000),
  BASIS_HEARTBEAT_WINDOW_MS: ms("How long an HTTP heartbeat keeps a worker online.", 90_000, 1_000, 86_400_000),
  BASIS_FIRST_TOKEN_TIMEOUT_MS: ms("A job with no token after this long is cancelled on its worker and tried on another.", 30_000, 1_000, 3_600_000),
  BASIS_SPOT_CHECK_INTERVAL_MS: msOrOff("Mean interval between hidden spot checks of each worker (docs/SPOT-CHECKS.md).", 600_000, 1_000, 86_400_000),
  BASIS_SHUTDOWN_TIMEOUT_MS: ms("How long SIGTERM lets running jobs finish.", 30_000, 0),
  BASIS_QUEUE_MAX: whole("Requests that may wait per model while its workers are busy; past it: 429.", 256, 0, 1_000_000),
  BASIS_QUEUE_TIMEOUT_MS: ms("How long a request may wait for a free worker; past it: 429 with Retry-After.", 30_000, 0),
  BASIS_METRICS_TOKEN: secret("Bearer token for GET /metrics; unset: BASIS_ORCHESTRATOR_SECRET; neither: open."),
  BASIS_STORE_DRIVER: choice(["sqlite", "postgres", "postgresql"], "sqlite (--data DIR makes it durable) or postgres (with BASIS_DATABASE_URL; instances on one database form a cluster).", "sqlite"),
  BASIS_STORE_SYNC: choice(["normal", "full"], "SQLite: normal (an answered job survives a crash of the process) or full (also a power cut: each group commit's WAL is fsynced before its answers leave).", "normal"),
  BASIS_DATABASE_URL: secret("postgres://user:pass@host/db for BASIS_STORE_DRIVER=postgres (it may carry a password)."),
  BASIS_LOG_LEVEL: logLevel,
  BASIS_LOG_FORMAT: choice(["text", "json"], "Log lines as text, or one JSON object a line; --log-format wins.", "text"),
} as const;

/** Every variable of either program whose value is a secret. */
export const SECRET_ENV_NAMES: readonly string[] = [
  ...new Set([...Object.entries(WORKER_ENV), ...Object.entries(ORCHESTRATOR_ENV)].filter(([, spec]) => spec.secret).map(([name]) => name)),
];

/** The variable in one line for `--help`: "SECRET. " first when it is one, the default last. */
export function describeEnvVar(spec: EnvVar<unknown>): string {
  const fallback = typeof spec.fallback === "number" || (typeof spec.fallback === "string" && !spec.secret) ? ` Default ${String(spec.fallback)}.` : "";
  const range = spec.range ? ` From ${spec.range.min} to ${spec.range.max}.` : "";
  return `${spec.secret ? "SECRET. " : ""}${spec.doc}${range}${fallback}`;
}

/** One variable (or a flag standing in for it, named by `label`): its value, or its fallback when unset or blank. */
export function readEnvVar<Out>(label: string, spec: EnvVar<Out>, raw: string | undefined): Out {
  const text = raw?.trim();
  if (!text) return spec.fallback;
  if (!spec.secret && secretKind(text)) {
    throw new BasisError("secret_refused", `Refused ${label}: ${SECRET_WARNING}`, { exitCode: 2, hint: `Remove that value from ${label}.` });
  }
  const result = v.safeParse(spec.schema, text);
  if (result.success) return result.output;
  const shown = typeof spec.fallback === "number" || (typeof spec.fallback === "string" && !spec.secret);
  const fallback = shown ? ` (${String(spec.fallback)})` : "";
  throw new BasisError("env_invalid", `${label} must be ${spec.expected}.`, {
    exitCode: 2,
    hint: `Fix ${label}, or unset it for the default${fallback}.`,
    details: { variable: label, expected: spec.expected },
  });
}

/** Every variable of `schema` from `env`, checked and typed; the first bad one throws (exit 2). */
export function readEnv<S extends EnvSchema>(schema: S, env: EnvRecord): EnvValues<S> {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(schema)) values[name] = readEnvVar(name, spec, env[name]);
  return values as EnvValues<S>;
}
