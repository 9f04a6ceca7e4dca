/**
 * What the HTTP runtimes share: turning a backend's error bodies, a dead connection, a
 * timeout or a cancellation into one BasisError with a stable code, and never letting a
 * credential into the message.
 */
import { WORKER_ENV } from "../../core/env-schema.ts";
import { BasisError } from "../../core/errors.ts";
import { describeUrl } from "../../core/public-url.ts";

/** The part of `fetch` the runtimes use; tests and other hosts may pass their own. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Cold model loads take a while; after this long without a token the job is failed. */
export const DEFAULT_FIRST_TOKEN_TIMEOUT_MS = WORKER_ENV.BASIS_FIRST_TOKEN_TIMEOUT_MS.fallback;
export const DEFAULT_TOTAL_TIMEOUT_MS = WORKER_ENV.BASIS_JOB_TIMEOUT_MS.fallback;
/** `healthy()` must answer fast: it runs on a timer while jobs are in flight. */
export const HEALTH_TIMEOUT_MS = 2_000;

/** A health probe: true on a 2xx within HEALTH_TIMEOUT_MS, false otherwise; never throws. */
export async function probeOk(fetcher: FetchLike, url: string, headers?: Record<string, string>): Promise<boolean> {
  try {
    const response = await fetcher(url, { ...(headers ? { headers } : {}), signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * The message inside any error shape the backends use: Ollama `{"error":"..."}`, vLLM from
 * v0.10.1 `{"error":{"message":...}}`, older vLLM flat `{"object":"error","message":...}`.
 */
export function extractErrorMessage(payload: unknown): string | undefined {
  if (typeof payload !== "object" || payload === null) return undefined;
  const record = payload as Record<string, unknown>;
  const error = record.error;
  if (typeof error === "string") return error;
  if (typeof error === "object" && error !== null) {
    const message = (error as Record<string, unknown>).message;
    return typeof message === "string" ? message : JSON.stringify(error);
  }
  if (record.object === "error" && typeof record.message === "string") return record.message;
  return undefined;
}

/** Reads a failed response's body into one short line. */
export async function readErrorBody(response: Response): Promise<string> {
  const text = await response.text().catch(() => "");
  let message: string | undefined;
  try {
    message = extractErrorMessage(JSON.parse(text));
  } catch {
    message = text.trim() || undefined;
  }
  return oneLine(message ?? `HTTP ${response.status} ${response.statusText}`.trim());
}

export function oneLine(text: string, max = 300): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

export function unreachableError(label: string, url: string, hint: string, cause: unknown): BasisError {
  return new BasisError("backend_unreachable", `Cannot reach ${label} at ${describeUrl(url)}.`, { hint, cause });
}

export interface RunGuardOptions {
  signal: AbortSignal;
  firstTokenTimeoutMs: number;
  totalTimeoutMs: number;
}

export interface RunGuard {
  /** Passed to `fetch`: aborts on cancellation or either timeout. */
  readonly signal: AbortSignal;
  /** Call on the first token (or the end of the answer): stops the first-token clock. */
  gotFirstToken(): void;
  /** The error for how the request ended: the abort reason wins over whatever fetch threw. */
  failure(error: unknown, fallback: (error: unknown) => BasisError): BasisError;
  dispose(): void;
}

/** Links the job's signal and the two timeouts into one upstream AbortSignal. */
export function createRunGuard(options: RunGuardOptions): RunGuard {
  const upstream = new AbortController();
  const abort = (reason: BasisError) => {
    if (!upstream.signal.aborted) upstream.abort(reason);
  };
  const onCancel = () => abort(cancelledError(options.signal.reason));
  if (options.signal.aborted) onCancel();
  else options.signal.addEventListener("abort", onCancel, { once: true });

  let firstTimer: ReturnType<typeof setTimeout> | undefined = setTimeout(
    () => abort(new BasisError("first_token_timeout", `No token from the backend within ${seconds(options.firstTokenTimeoutMs)}.`, {
      hint: "The model may still be loading or the GPU is saturated; check the backend's logs.",
    })),
    options.firstTokenTimeoutMs,
  );
  const totalTimer = setTimeout(
    () => abort(new BasisError("job_timeout", `The backend did not finish within ${seconds(options.totalTimeoutMs)}.`)),
    options.totalTimeoutMs,
  );

  return {
    signal: upstream.signal,
    gotFirstToken() {
      clearTimeout(firstTimer);
      firstTimer = undefined;
    },
    failure(error, fallback) {
      const reason: unknown = upstream.signal.reason;
      if (upstream.signal.aborted && reason instanceof BasisError) return reason;
      if (error instanceof BasisError) return error;
      return fallback(error);
    },
    dispose() {
      clearTimeout(firstTimer);
      clearTimeout(totalTimer);
      options.signal.removeEventListener("abort", onCancel);
    },
  };
}

function cancelledError(reason: unknown): BasisError {
  // A plain abort() carries a generic DOMException; only a deliberate reason is worth showing.
  const why = typeof reason === "string" ? reason : reason instanceof BasisError ? reason.message : "";
  return new BasisError("job_cancelled", why ? `The job was cancelled: ${oneLine(why, 200)}` : "The job was cancelled.");
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
