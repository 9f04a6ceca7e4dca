/**
 * Per-connection event budget (docs/PROTOCOL.md, "Limits per connection"). A token bucket that
 * refills at a base rate plus a rate per live job, so a worker streaming many jobs has room and
 * an idle one sending a flood has none. Past the bucket an event is dropped (throttled); too many
 * dropped within a window and the connection is ended.
 */

export interface EventLimits {
  /** Events per second any connection may send (status, late events). */
  baseRatePerS: number;
  /** More events per second for each job in flight on the connection. */
  perJobRatePerS: number;
  /** Seconds of allowance that may be saved up. */
  burstS: number;
  /** Dropped events within `windowMs` that end the connection. */
  maxDropped: number;
  windowMs: number;
}

export const DEFAULT_EVENT_LIMITS: EventLimits = { baseRatePerS: 20, perJobRatePerS: 500, burstS: 2, maxDropped: 500, windowMs: 5_000 };

export type Admission = "ok" | "throttled" | "disconnect";

export class EventLimiter {
  private tokens: number;
  private last: number;
  private dropped = 0;
  private windowStart: number;

  constructor(
    private readonly limits: EventLimits,
    now: number,
  ) {
    this.tokens = limits.baseRatePerS * limits.burstS;
    this.last = now;
    this.windowStart = now;
  }

  /** One event arrives while `liveJobs` jobs are in flight on this connection. */
  admit(now: number, liveJobs: number): Admission {
    const rate = this.limits.baseRatePerS + this.limits.perJobRatePerS * liveJobs;
    const elapsedS = Math.max(0, now - this.last) / 1000;
    this.last = now;
    this.tokens = Math.min(rate * this.limits.burstS, this.tokens + elapsedS * rate);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return "ok";
    }
    if (now - this.windowStart > this.limits.windowMs) {
      this.windowStart = now;
      this.dropped = 0;
    }
    this.dropped++;
    return this.dropped > this.limits.maxDropped ? "disconnect" : "throttled";
  }
}
