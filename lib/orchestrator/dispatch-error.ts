/**
 * Why a dispatch produced no answer, in the domain's words. Dispatch, its queue and the relay
 * raise these; the HTTP routes alone turn them into statuses (routes/dispatch.ts).
 */

export type DispatchFailure =
  /** No idle online worker serves the model. */
  | "no_worker"
  /** The one worker asked for (`hooks.workerId`) is not connected, not serving the model, or busy. */
  | "worker_unavailable"
  /** No online worker serves the model at all: not worth waiting or retrying for. */
  | "model_not_found"
  /** Workers serve the model, but none asks at most the caller's `x-basis-max-price`. */
  | "over_price"
  /** Every worker of the model is busy and the wait for one ran out or is full. */
  | "capacity_exhausted"
  /** Every worker serving the model runs a runtime that cannot honour a parameter the request sets. */
  | "unsupported_parameter"
  /** The worker failed the job, sent what breaks the rules, or its answer did not match what it streamed. */
  | "worker_failed"
  /** The worker did not finish within the job timeout, or no worker sent a first token in time. */
  | "timeout"
  /** The caller went away; the job was cancelled on the worker. */
  | "client_gone"
  /** The job ended but its record could not be written; it is not billed. */
  | "not_recorded"
  /** The orchestrator is stopping: a request still waiting for a worker is turned away. */
  | "shutting_down";

/** The stable code of each failure: what clients, logs and metrics name it by. */
const FAILURE_CODES: Record<DispatchFailure, string> = {
  no_worker: "no_worker_available",
  worker_unavailable: "worker_unavailable",
  model_not_found: "model_not_found",
  over_price: "no_worker_within_price",
  capacity_exhausted: "capacity_exhausted",
  unsupported_parameter: "unsupported_parameter",
  worker_failed: "worker_failed",
  timeout: "worker_timeout",
  client_gone: "client_closed",
  not_recorded: "not_recorded",
  shutting_down: "shutting_down",
};

export interface DispatchErrorDetails {
  /** The worker's error code as shown to clients (`publicFailure`). */
  worker_error?: string;
  /** The request parameter refused. */
  param?: string;
  /** Seconds after which a retry may succeed. */
  retryAfterS?: number;
}

export class DispatchError extends Error {
  override readonly name = "DispatchError";
  readonly code: string;
  constructor(
    readonly reason: DispatchFailure,
    message: string,
    readonly details: DispatchErrorDetails = {},
  ) {
    super(message);
    this.code = FAILURE_CODES[reason];
  }
}
