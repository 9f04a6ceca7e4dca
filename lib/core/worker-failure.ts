/**
 * What an API client is told when a worker fails its job: one of a short fixed set of codes and
 * messages. The worker's own code and text (backend errors, socket errors, paths, up to 1,000
 * characters) may say more about the worker's machine than a buyer should see; they go to the
 * orchestrator's log only.
 */

export interface PublicFailure {
  /** Stable: `backend_error`, `backend_timeout`, `model_unavailable`, `worker_disconnected`, `job_cancelled` or `worker_error`. */
  code: string;
  message: string;
}

const BACKEND: PublicFailure = { code: "backend_error", message: "The worker's model backend failed the job." };
const TIMEOUT: PublicFailure = { code: "backend_timeout", message: "The worker's model backend did not answer in time." };
const MODEL: PublicFailure = { code: "model_unavailable", message: "The worker could not load the model." };
const OTHER: PublicFailure = { code: "worker_error", message: "The worker failed the job." };

const BY_WORKER_CODE = new Map<string, PublicFailure>([
  ["backend_error", BACKEND],
  ["backend_bad_response", BACKEND],
  ["backend_stream_ended", BACKEND],
  ["backend_unreachable", BACKEND],
  ["backend_unhealthy", BACKEND],
  ["backend_auth_failed", BACKEND],
  ["job_timeout", TIMEOUT],
  ["first_token_timeout", TIMEOUT],
  ["model_not_found", MODEL],
  ["model_missing", MODEL],
  ["pull_failed", MODEL],
  ["worker_disconnected", { code: "worker_disconnected", message: "The worker disconnected before finishing." }],
  ["job_cancelled", { code: "job_cancelled", message: "The job was cancelled on the worker." }],
]);

/** The client-facing failure for a worker's failure code; any code not known maps to `worker_error`. */
export function publicFailure(workerCode: string): PublicFailure {
  return BY_WORKER_CODE.get(workerCode) ?? OTHER;
}

/** Worker-sent text made safe for one log line: control characters out, length bounded. */
export function logSafe(text: string, max = 300): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ");
  return flat.length > max ? `${flat.slice(0, max)}...` : flat;
}
