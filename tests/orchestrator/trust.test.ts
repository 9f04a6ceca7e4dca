/** Earned capacity, cooldowns and the per-connection event budget, as pure rules. */
import { describe, expect, test } from "bun:test";
import { DEFAULT_EVENT_LIMITS, EventLimiter } from "../../lib/orchestrator/event-limiter.ts";
import { DEFAULT_TRUST, initialTrust, isEligible, recordCompletion, recordSetback, SessionRegistry, type WorkerSession } from "../../lib/orchestrator/sessions.ts";

function session(concurrency: number, id = "w1"): WorkerSession {
  return {
    socket: {} as never,
    info: { protocol: 1, proof: "0".repeat(64), worker_id: id, worker_wallet: `0x${"1".repeat(40)}`, runtime: "ollama", models: ["m"], concurrency },
    connectedAt: 0,
    available: true,
    draining: false,
    active: 0,
    jobs: new Map(),
    ...initialTrust(concurrency),
  };
}

describe("earned capacity", () => {
  test("a new session gets 2 whatever it advertises, or less when it advertises less", () => {
    expect(session(1024).capacity).toBe(2);
    expect(session(1).capacity).toBe(1);
  });

  test("each completion adds one, up to the advertised concurrency", () => {
    const s = session(4);
    for (let i = 0; i < 10; i++) recordCompletion(s);
    expect(s.capacity).toBe(4);
  });

  test("a setback halves capacity and cools down for a bounded, doubling time; a good worker recovers", () => {
    const s = session(16);
    for (let i = 0; i < 14; i++) recordCompletion(s);
    expect(s.capacity).toBe(16);
    expect(recordSetback(s, 1_000)).toBe(DEFAULT_TRUST.cooldownBaseMs);
    expect(s.capacity).toBe(8);
    expect(isEligible(s, 1_000)).toBe(false);
    expect(isEligible(s, 1_000 + DEFAULT_TRUST.cooldownBaseMs)).toBe(true);
    const cooldowns = Array.from({ length: 10 }, () => recordSetback(s, 5_000));
    expect(cooldowns.slice(0, 3)).toEqual([2_000, 4_000, 8_000]);
    expect(Math.max(...cooldowns)).toBe(DEFAULT_TRUST.cooldownMaxMs);
    expect(s.capacity).toBe(1);
    // Never forever: after the longest cooldown it takes jobs again, and completions rebuild it.
    expect(isEligible(s, 5_000 + DEFAULT_TRUST.cooldownMaxMs)).toBe(true);
    recordCompletion(s);
    expect(s.capacity).toBe(2);
    expect(recordSetback(s, 100_000)).toBe(DEFAULT_TRUST.cooldownBaseMs);
  });

  test("a session holding its capacity, draining or unavailable is not eligible", () => {
    const s = session(4);
    s.active = 2;
    expect(isEligible(s, 0)).toBe(false);
    s.active = 1;
    expect(isEligible(s, 0)).toBe(true);
    expect(isEligible({ ...s, draining: true }, 0)).toBe(false);
    expect(isEligible({ ...s, available: false }, 0)).toBe(false);
  });

  test("a reconnect keeps the cooldown and does not raise capacity above the initial grant", () => {
    let now = 0;
    const registry = new SessionRegistry(() => now);
    const first = session(8);
    registry.add(first);
    recordSetback(first, 0);
    registry.remove(first);
    registry.remember(first);
    const trust = registry.trustFor("w1", 8);
    expect(trust.cooldownUntil).toBe(first.cooldownUntil);
    expect(trust.capacity).toBe(1);
    const second = { ...session(8), ...trust };
    registry.add(second);
    expect(registry.pick("m", new Set())).toBeUndefined();
    now = first.cooldownUntil;
    expect(registry.pick("m", new Set())).toBe(second);
    expect(registry.trustFor("fresh", 8)).toEqual(initialTrust(8));
  });

  test("routing prefers the least loaded against earned capacity", () => {
    const registry = new SessionRegistry(() => 0);
    const a = session(8, "a");
    const b = session(8, "b");
    for (let i = 0; i < 6; i++) recordCompletion(a);
    a.active = 2;
    b.active = 1;
    registry.add(a);
    registry.add(b);
    // a: 2 of 8, b: 1 of 2.
    expect(registry.pick("m", new Set())).toBe(a);
  });
});

describe("EventLimiter", () => {
  test("admits a burst, then throttles, then asks to disconnect past the dropped limit", () => {
    const limiter = new EventLimiter(DEFAULT_EVENT_LIMITS, 0);
    const burst = DEFAULT_EVENT_LIMITS.baseRatePerS * DEFAULT_EVENT_LIMITS.burstS;
    const answers = Array.from({ length: burst + DEFAULT_EVENT_LIMITS.maxDropped + 1 }, () => limiter.admit(0, 0));
    expect(answers.slice(0, burst).every((a) => a === "ok")).toBe(true);
    expect(answers[burst]).toBe("throttled");
    expect(answers.at(-1)).toBe("disconnect");
  });

  test("live jobs raise the budget: a streaming worker is never throttled at 200 events/s per job", () => {
    const limiter = new EventLimiter(DEFAULT_EVENT_LIMITS, 0);
    for (let ms = 0; ms < 10_000; ms += 5) {
      for (let job = 0; job < 4; job++) expect(limiter.admit(ms, 4)).toBe("ok");
    }
  });

  test("the budget refills with time", () => {
    const limiter = new EventLimiter(DEFAULT_EVENT_LIMITS, 0);
    while (limiter.admit(0, 0) === "ok");
    expect(limiter.admit(1_000, 0)).toBe("ok");
  });
});
