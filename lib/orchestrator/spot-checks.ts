/**
 * Sends each worker connected here hidden verification jobs at random times (docs/SPOT-CHECKS.md):
 * the first soon after it connects, then at exponentially distributed intervals with the mean
 * `BASIS_SPOT_CHECK_INTERVAL_MS`. A spot check travels like any client job (same event, same
 * fields, streamed or not) and is judged by lib/core/spot-check.ts. A worker that fails one is
 * unverified: its jobs are not payable (`failed_spot_check`) until it passes another, which
 * comes sooner after a failure. Spot-check jobs are never paid, recorded or shown to a client.
 */
import { ORCHESTRATOR_ENV } from "../core/env-schema.ts";
import { composeSpotCheck, judgeSpotCheck } from "../core/spot-check.ts";
import { type DispatchDeps, dispatchJob } from "./dispatch.ts";
import { DispatchError } from "./dispatch-error.ts";
import { isEligible, recordSetback, type WorkerSession } from "./sessions.ts";

export const DEFAULT_SPOT_CHECK_INTERVAL_MS = ORCHESTRATOR_ENV.BASIS_SPOT_CHECK_INTERVAL_MS.fallback;
/** The first check comes within this long of a connection (or the interval, when shorter). */
const FIRST_CHECK_WITHIN_MS = 10_000;
/** After a failure the next check comes sooner, so an honest worker that slipped recovers soon. */
const RECHECK_MEAN_MS = 60_000;
/** A busy or cooling-down worker is asked again after about this long. */
const BUSY_RETRY_MS = 2_000;

export interface SpotCheckerOptions {
  deps: DispatchDeps;
  /** Mean interval between checks of one worker. */
  intervalMs: number;
  log: { info(message: string): void; warn(message: string): void };
  random?: () => number;
}

export class SpotChecker {
  private readonly timers = new Map<WorkerSession, ReturnType<typeof setTimeout>>();
  private readonly random: () => number;
  private closed = false;

  constructor(private readonly options: SpotCheckerOptions) {
    this.random = options.random ?? Math.random;
  }

  /** A worker session started on this instance: its first check comes soon. */
  watch(session: WorkerSession): void {
    const within = Math.min(this.options.intervalMs, FIRST_CHECK_WITHIN_MS);
    this.schedule(session, within * (0.25 + 0.75 * this.random()));
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** Exponentially distributed, so the next check cannot be predicted from the last one. */
  private exponential(meanMs: number): number {
    return Math.max(1, -Math.log(1 - this.random()) * meanMs);
  }

  private schedule(session: WorkerSession, delayMs: number): void {
    if (this.closed) return;
    clearTimeout(this.timers.get(session));
    const timer = setTimeout(() => {
      this.timers.delete(session);
      void this.check(session);
    }, delayMs);
    (timer as { unref?: () => void }).unref?.();
    this.timers.set(session, timer);
  }

  private async check(session: WorkerSession): Promise<void> {
    const { deps, log } = this.options;
    const id = session.info.worker_id;
    // Gone or replaced: the new session has its own schedule.
    if (this.closed || deps.registry.get(id) !== session) return;
    if (!isEligible(session, deps.now())) return this.schedule(session, BUSY_RETRY_MS * (0.5 + this.random()));
    const model = session.info.models[Math.floor(this.random() * session.info.models.length)] as string;
    const check = composeSpotCheck(model, this.random);
    let outcome: string;
    try {
      const result = await dispatchJob(deps, check.request, {
        workerId: id,
        spotCheck: true,
        ...(check.stream ? { onChunk: () => {} } : {}),
      });
      outcome = judgeSpotCheck(check, result.done.text);
    } catch (error) {
      // Taken by client jobs since: ask again shortly.
      const busy = error instanceof DispatchError && (error.reason === "worker_unavailable" || error.reason === "no_worker" || error.reason === "not_recorded");
      if (busy) return this.schedule(session, BUSY_RETRY_MS * (0.5 + this.random()));
      outcome = error instanceof DispatchError ? (error.details.worker_error ?? error.code) : "internal_error";
    }
    if (deps.registry.get(id) !== session) return;
    const passed = outcome === "passed";
    const was = session.spotCheck;
    session.spotCheck = passed ? "passed" : "failed";
    if (passed) {
      if (was === "failed") log.info(`worker ${id} passed a spot check: its jobs are payable again`);
    } else {
      recordSetback(session, deps.now(), deps.registry.trust);
      log.warn(`worker ${id} failed a spot check (${outcome}): its jobs are not payable (failed_spot_check) until it passes one`);
    }
    this.schedule(session, this.exponential(passed ? this.options.intervalMs : Math.min(this.options.intervalMs, RECHECK_MEAN_MS)));
  }
}
