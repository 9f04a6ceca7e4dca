/**
 * Queueing, not bouncing: a request for a model whose workers are all busy waits in that
 * model's bounded queue until a slot frees, in arrival order. Past BASIS_QUEUE_MAX waiters or
 * BASIS_QUEUE_TIMEOUT_MS of waiting, 429 `capacity_exhausted` with Retry-After. A client that
 * goes away leaves the queue at once.
 */
import { ORCHESTRATOR_ENV } from "../core/env-schema.ts";
import { DispatchError } from "./dispatch-error.ts";

export interface QueueSettings {
  /** Waiters per model at most (BASIS_QUEUE_MAX). */
  maxPerModel: number;
  /** How long a request may wait in all (BASIS_QUEUE_TIMEOUT_MS). */
  timeoutMs: number;
}

export const DEFAULT_QUEUE: QueueSettings = { maxPerModel: ORCHESTRATOR_ENV.BASIS_QUEUE_MAX.fallback, timeoutMs: ORCHESTRATOR_ENV.BASIS_QUEUE_TIMEOUT_MS.fallback };
/** A waiter re-checks this often even without a wake-up (a cooldown ending, a worker on another instance freeing up). */
const RECHECK_MS = 250;

interface Waiter {
  wake: () => void;
  fail: (error: DispatchError) => void;
}

/** Seconds a request turned away at shutdown is told to wait. */
const SHUTDOWN_RETRY_AFTER_S = 5;

export class ModelQueues {
  readonly #waiting = new Map<string, Set<Waiter>>();
  #closed = false;

  constructor(readonly settings: QueueSettings = DEFAULT_QUEUE) {}

  /** Requests waiting for a model now. */
  depth(model: string): number {
    return this.#waiting.get(model)?.size ?? 0;
  }

  /** Every model with requests waiting, and how many. */
  depths(): [string, number][] {
    return [...this.#waiting.entries()].map(([model, set]) => [model, set.size]);
  }

  /** The orchestrator is stopping: every waiter, and every later request, gets 503 shutting_down. */
  close(): void {
    this.#closed = true;
    for (const set of this.#waiting.values()) for (const waiter of set) waiter.fail(shuttingDown());
  }

  /** Capacity may have freed for these models (a slot released, a worker came or became available). */
  notify(models: Iterable<string>): void {
    for (const model of models) for (const waiter of this.#waiting.get(model) ?? []) waiter.wake();
  }

  /**
   * Waits until woken, a re-check is due, or the request's deadline passes (429), or the client
   * leaves (499). `deadline` is fixed at the first wait, so re-queueing never extends it.
   */
  async wait(model: string, deadline: number, now: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#closed) throw shuttingDown();
    let set = this.#waiting.get(model);
    if (!set) this.#waiting.set(model, (set = new Set()));
    if (set.size >= this.settings.maxPerModel) throw exhausted(model, `${set.size} requests already wait for it`, this.settings.timeoutMs);
    const left = deadline - now;
    if (left <= 0) throw exhausted(model, `no slot freed within ${this.settings.timeoutMs} ms`, this.settings.timeoutMs);
    const queue = set;
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { wake: () => finish(resolve), fail: (error) => finish(() => reject(error)) };
      const recheck = setTimeout(() => finish(resolve), Math.min(RECHECK_MS, left));
      const onAbort = () => finish(() => reject(new DispatchError("client_gone", "The client went away while its request waited.")));
      function finish(then: () => void) {
        clearTimeout(recheck);
        signal?.removeEventListener("abort", onAbort);
        queue.delete(waiter);
        then();
      }
      queue.add(waiter);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener("abort", onAbort, { once: true });
    });
    if (queue.size === 0 && this.#waiting.get(model) === queue) this.#waiting.delete(model);
  }
}

function shuttingDown(): DispatchError {
  return new DispatchError("shutting_down", "This orchestrator is shutting down; retry shortly.", { retryAfterS: SHUTDOWN_RETRY_AFTER_S });
}

function exhausted(model: string, why: string, timeoutMs: number): DispatchError {
  const retryAfterS = Math.max(1, Math.ceil(timeoutMs / 1000));
  return new DispatchError("capacity_exhausted", `Every worker serving ${model} is busy (${why}); retry later.`, { retryAfterS });
}
