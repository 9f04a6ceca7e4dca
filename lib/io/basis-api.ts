/**
 * The HTTP client of the Basis API (basis.watch, or the reference API served by
 * `basis-canary serve`). Every answer is validated here; failures become BasisErrors with
 * stable codes and plain words. 5xx, 429 and network failures are retried, bounded in time,
 * but only for calls that are safe to repeat: GETs, and the POSTs that honour an
 * Idempotency-Key (the same key on every try). A POST that may have landed is never repeated
 * blindly.
 */
import * as v from "valibot";
import { BasisError } from "../core/errors.ts";
import { readEnvVar, WORKER_ENV } from "../core/env-schema.ts";
import { describeUrl } from "../core/public-url.ts";
import { issuePath } from "../core/schema-issues.ts";
import { parseBaseUrl } from "../core/urls.ts";
import {
  API_PATHS,
  IDEMPOTENCY_HEADER,
  IDEMPOTENT_POSTS,
  OfferAcceptedReadSchema,
  OnboardingReadSchema,
  type RegisterInput,
  type OnboardingView,
  type PublishedOffer,
  RegistrationReadSchema,
  type RegistrationView,
  RewardsReadSchema,
  type RewardsView,
  WorkerAnswerReadSchema,
  type WorkerView,
  workerPath,
} from "../core/api-contract.ts";
import { type ApiRequest, readAnswer } from "./basis-api-answers.ts";

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

export type { PublishedOffer };

/** The register body as a client sends it: the input of the contract's RegisterBodySchema. */
export type { RegisterInput };

/** Three tries of 2.5 s with 0.3 s + 0.6 s between them: a dead API fails in under 10 s. */
const DEFAULTS = { tries: 3, timeoutMs: 2_500, backoffMs: 300 };

/** `--base`, else BASIS_BASE_URL, else basis.watch; validated so a typo fails before any request. */
export function resolveBaseUrl(flag: string | undefined, envValue: string | undefined): string {
  return flag?.trim() ? parseBaseUrl(flag) : readEnvVar("BASIS_BASE_URL", WORKER_ENV.BASIS_BASE_URL, envValue);
}

export function createBasisApi(options: BasisApiOptions) {
  const settings: Required<BasisApiOptions> = { ...DEFAULTS, ...options, fetch: options.fetch ?? fetch };
  const call = <S extends v.GenericSchema>(method: string, path: string, schema: S, body?: unknown, workerId?: string) => {
    const idempotencyKey = method === "POST" && IDEMPOTENT_POSTS.includes(path) ? crypto.randomUUID() : undefined;
    return requestJson(settings, { method, path, body, workerId, idempotencyKey }).then((answer) => validate(schema, answer, settings.base, path));
  };

  return {
    base: settings.base,
    register(input: RegisterInput): Promise<RegistrationView> {
      return call("POST", API_PATHS.register, RegistrationReadSchema, input, input.worker_id);
    },
    async getWorker(workerId: string): Promise<WorkerView> {
      const answer = await call("GET", workerPath(API_PATHS.worker, workerId), WorkerAnswerReadSchema, undefined, workerId);
      return answer.worker;
    },
    getRewards(workerId: string): Promise<RewardsView> {
      return call("GET", workerPath(API_PATHS.rewards, workerId), RewardsReadSchema, undefined, workerId);
    },
    /** Without a worker id, the network-wide onboarding state. */
    getOnboarding(workerId?: string): Promise<OnboardingView> {
      const query = workerId === undefined ? "" : `?worker_id=${encodeURIComponent(workerId)}`;
      return call("GET", `${API_PATHS.onboarding}${query}`, OnboardingReadSchema, undefined, workerId);
    },
    /** POSTs a signed price manifest; the answer names the stored offer. */
    publishPrices(manifest: { worker_id: string }): Promise<PublishedOffer> {
      return call("POST", API_PATHS.prices, OfferAcceptedReadSchema, manifest, manifest.worker_id);
    },
  };
}

export type BasisApi = ReturnType<typeof createBasisApi>;

type Attempt = { kind: "answer"; status: number; text: string } | { kind: "failed"; reason: "timeout" | "unreachable" };

async function requestJson(settings: Required<BasisApiOptions>, request: ApiRequest): Promise<unknown> {
  const origin = describeUrl(settings.base);
  // Safe to repeat: a GET, or a POST whose every try carries the same Idempotency-Key.
  const repeatable = request.method === "GET" || request.idempotencyKey !== undefined;
  const attempts = repeatable ? settings.tries : 1;
  let last: Attempt = { kind: "failed", reason: "unreachable" };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await sleep(settings.backoffMs * 2 ** (attempt - 2));
    last = await attemptOnce(settings, request);
    if (last.kind === "answer" && !isRetriable(last.status)) return readAnswer(last, request, origin);
  }
  const tries = attempts === 1 ? "" : ` (${attempts} tries)`;
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
    headers: {
      accept: "application/json",
      ...(request.body === undefined ? {} : { "content-type": "application/json" }),
      ...(request.idempotencyKey === undefined ? {} : { [IDEMPOTENCY_HEADER]: request.idempotencyKey }),
    },
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
  const field = issuePath(result.issues[0], "dotted") || "the answer";
  throw new BasisError("api_bad_response", `The Basis API at ${describeUrl(base)} answered ${path.split("?")[0]} in an unexpected shape (${field}).`, {
    hint: "This client may be older than the API; update basis-worker.",
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
