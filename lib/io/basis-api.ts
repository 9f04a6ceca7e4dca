/**
 * The HTTP client of the Basis API (basis.watch, or the reference API served by
 * `basis-canary serve`). Every answer is validated here; failures become BasisErrors with
 * stable codes and plain words. 5xx, 429 and network failures are retried, bounded in time.
 */
import * as v from "valibot";
import { BasisError } from "../core/errors.ts";
import { readEnvVar, WORKER_ENV } from "../core/env-schema.ts";
import { describeUrl } from "../core/public-url.ts";
import { parseBaseUrl } from "../core/urls.ts";
import { type ApiRequest, PRICES_PATH, readAnswer } from "./basis-api-answers.ts";
import type { OnboardingView, RegistrationView, RewardsView, WorkerView } from "../core/status-format.ts";

export interface BasisApiOptions {
  base: string;
  /** Attempts for retriable failures; 1 means a single try. */
  tries?: number;
  /** Bound on each attempt. */
  timeoutMs?: number;
  /** First backoff delay; it doubles after each failed attempt. */
  backoffMs?: number;
  fetch?: typeof fetch;
}

export interface RegisterInput {
  worker_id: string;
  worker_wallet: string;
  runtime: string;
  models: string[];
}

/** Three tries of 2.5 s with 0.3 s + 0.6 s between them: a dead API fails in under 10 s. */
const DEFAULTS = { tries: 3, timeoutMs: 2_500, backoffMs: 300 };

/** `--base`, else BASIS_BASE_URL, else basis.watch; validated so a typo fails before any request. */
export function resolveBaseUrl(flag: string | undefined, envValue: string | undefined): string {
  return flag?.trim() ? parseBaseUrl(flag) : readEnvVar("BASIS_BASE_URL", WORKER_ENV.BASIS_BASE_URL, envValue);
}

// Answers are parsed leniently: basis.watch may add fields, and unknown ones pass through.
const AmountSchema = v.union([
  v.pipe(v.string(), v.regex(/^\d+$/, "an integer decimal string")),
  v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.transform(String)),
]);

const WorkerSchema = v.looseObject({
  worker_id: v.string(),
  worker_wallet: v.optional(v.string()),
  runtime: v.optional(v.string()),
  models: v.optional(v.array(v.string())),
  online: v.optional(v.boolean()),
  lastSeenAt: v.optional(v.nullable(v.string())),
  jobsCompleted: v.optional(v.number()),
  registeredAt: v.optional(v.nullable(v.string())),
});

const SettlementSchema = v.looseObject({ state: v.optional(v.string()), mode: v.optional(v.string()) });

const WorkerAnswerSchema = v.looseObject({ worker: WorkerSchema });

const RegistrationAnswerSchema = v.looseObject({
  worker: v.optional(WorkerSchema),
  created: v.optional(v.boolean()),
});

const RewardsSchema = v.looseObject({
  pending: v.optional(AmountSchema),
  batching: v.optional(AmountSchema),
  settled: v.optional(AmountSchema),
  entries: v.optional(v.array(v.unknown())),
  settlement: v.optional(SettlementSchema),
});

const RowSchema = v.looseObject({
  name: v.pipe(v.unknown(), v.transform(String)),
  state: v.optional(v.pipe(v.unknown(), v.transform(String))),
  detail: v.optional(v.nullable(v.pipe(v.unknown(), v.transform(String)))),
});

const OnboardingSchema = v.looseObject({
  registration: v.optional(v.unknown()),
  jobRouting: v.optional(v.looseObject({ enabled: v.optional(v.boolean()) })),
  orchestrator: v.optional(v.unknown()),
  canReceiveJobs: v.optional(v.boolean()),
  settlement: v.optional(SettlementSchema),
  rows: v.optional(v.array(RowSchema)),
});

// These values are printed to the operator, so they must be plain slugs and numbers.
const OfferSchema = v.looseObject({
  offerId: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,100}$/)),
  priceVersion: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
  state: v.pipe(v.string(), v.regex(/^[a-z_]{1,32}$/)),
});

export type PublishedOffer = v.InferOutput<typeof OfferSchema>;

export function createBasisApi(options: BasisApiOptions) {
  const settings: Required<BasisApiOptions> = { ...DEFAULTS, ...options, fetch: options.fetch ?? fetch };
  const call = <S extends v.GenericSchema>(method: string, path: string, schema: S, body?: unknown, workerId?: string) =>
    requestJson(settings, { method, path, body, workerId }).then((answer) => validate(schema, answer, settings.base, path));

  return {
    base: settings.base,
    register(input: RegisterInput): Promise<RegistrationView> {
      return call("POST", "/api/workers/register", RegistrationAnswerSchema, input, input.worker_id);
    },
    async getWorker(workerId: string): Promise<WorkerView> {
      const answer = await call("GET", `/api/workers/${encodeURIComponent(workerId)}`, WorkerAnswerSchema, undefined, workerId);
      return answer.worker;
    },
    getRewards(workerId: string): Promise<RewardsView> {
      return call("GET", `/api/workers/${encodeURIComponent(workerId)}/rewards`, RewardsSchema, undefined, workerId);
    },
    /** Without a worker id, the network-wide onboarding state. */
    getOnboarding(workerId?: string): Promise<OnboardingView> {
      const query = workerId === undefined ? "" : `?worker_id=${encodeURIComponent(workerId)}`;
      return call("GET", `/api/workers/onboarding/status${query}`, OnboardingSchema, undefined, workerId);
    },
    /** POSTs a signed price manifest; the answer names the stored offer. */
    publishPrices(manifest: { worker_id: string }): Promise<PublishedOffer> {
      return call("POST", PRICES_PATH, OfferSchema, manifest, manifest.worker_id);
    },
  };
}

export type BasisApi = ReturnType<typeof createBasisApi>;

type Attempt = { kind: "answer"; status: number; text: string } | { kind: "failed"; reason: "timeout" | "unreachable" };

async function requestJson(settings: Required<BasisApiOptions>, request: ApiRequest): Promise<unknown> {
  const origin = describeUrl(settings.base);
  let last: Attempt = { kind: "failed", reason: "unreachable" };
  for (let attempt = 1; attempt <= settings.tries; attempt++) {
    if (attempt > 1) await sleep(settings.backoffMs * 2 ** (attempt - 2));
    last = await attemptOnce(settings, request);
    if (last.kind === "answer" && !isRetriable(last.status)) return readAnswer(last, request, origin);
  }
  const tries = settings.tries === 1 ? "" : ` (${settings.tries} tries)`;
  if (last.kind === "failed") {
    const hint = "Check the network and the --base URL (or BASIS_BASE_URL), then try again.";
    if (last.reason === "timeout") throw new BasisError("api_timeout", `The Basis API at ${origin} did not answer in time${tries}.`, { hint });
    throw new BasisError("api_unreachable", `Cannot reach the Basis API at ${origin}${tries}.`, { hint });
  }
  throw new BasisError("api_server_error", `The Basis API at ${origin} failed with HTTP ${last.status}${tries}.`, {
    hint: "The service may be down or overloaded; try again in a few minutes.",
    details: { status: last.status },
  });
}

async function attemptOnce(settings: Required<BasisApiOptions>, request: ApiRequest): Promise<Attempt> {
  const init: RequestInit = {
    method: request.method,
    headers: { accept: "application/json", ...(request.body === undefined ? {} : { "content-type": "application/json" }) },
    signal: AbortSignal.timeout(settings.timeoutMs),
    redirect: "follow",
  };
  if (request.body !== undefined) init.body = JSON.stringify(request.body);
  try {
    const response = await settings.fetch(`${settings.base}${request.path}`, init);
    return { kind: "answer", status: response.status, text: await response.text() };
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    return { kind: "failed", reason: name === "TimeoutError" || name === "AbortError" ? "timeout" : "unreachable" };
  }
}

function isRetriable(status: number): boolean {
  return status >= 500 || status === 429;
}

function validate<S extends v.GenericSchema>(schema: S, answer: unknown, base: string, path: string): v.InferOutput<S> {
  const result = v.safeParse(schema, answer);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const field = issue?.path?.map((p) => String(p.key)).join(".") || "the answer";
  throw new BasisError("api_bad_response", `The Basis API at ${describeUrl(base)} answered ${path.split("?")[0]} in an unexpected shape (${field}).`, {
    hint: "This client may be older than the API; update basis-worker.",
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
