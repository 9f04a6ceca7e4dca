/**
 * Added latency: the same non-streaming request sent straight to the fake backend and through
 * orchestrator + compiled worker (`/v1/dispatch`), in alternating rounds so drift hits both
 * sides alike. At concurrency 1 (closed loop) and at a fixed rate (open loop).
 */
import { type BenchContext, chatBody, directTarget, dispatchTarget, mergeLabel, type RunningFake, type RunningOrchestrator, runLoad } from "../cluster.ts";
import { FAKE_MODEL } from "../fake-openai.ts";
import type { LoadPhase, PhaseResult } from "../load-gen.ts";
import type { BenchSizes } from "../sizes.ts";
import { round, type Summary, summarize } from "../stats.ts";

/** A short answer: the benchmark is about what we add, not about moving bytes. */
const ANSWER_TOKENS = 16;

export interface SideBySide {
  direct_ms: Summary;
  dispatch_ms: Summary;
  errors: { direct: number; dispatch: number };
  error_sample?: string;
}

export interface AddedLatency extends SideBySide {
  p50: number;
  p99: number;
  rounds: number;
}

export interface AddedLatencyAtRate extends SideBySide {
  p50: number;
  p99: number;
  rate_per_s: number;
  achieved_per_s: { direct: number; dispatch: number };
  max_send_lag_ms: number;
}

export interface Skipped {
  skipped: string;
}

function compare(results: PhaseResult[]): SideBySide {
  const direct = mergeLabel(results, "direct");
  const dispatch = mergeLabel(results, "dispatch");
  const sample = dispatch.errorSample ?? direct.errorSample;
  return {
    direct_ms: summarize(direct.latencies),
    dispatch_ms: summarize(dispatch.latencies),
    errors: { direct: direct.errors, dispatch: dispatch.errors },
    ...(sample ? { error_sample: sample } : {}),
  };
}

export async function measureAddedLatency(ctx: BenchContext, sizes: BenchSizes, orchestrator: RunningOrchestrator, fake: RunningFake): Promise<AddedLatency> {
  const body = chatBody(FAKE_MODEL, ANSWER_TOKENS, false);
  const direct = directTarget(fake, body);
  const dispatch = dispatchTarget(orchestrator, ctx.secrets, body);
  const plan: LoadPhase[] = [
    { kind: "closed", label: "warmup", target: direct, concurrency: 1, count: sizes.warmupRequests },
    { kind: "closed", label: "warmup", target: dispatch, concurrency: 1, count: sizes.warmupRequests },
  ];
  for (let k = 0; k < sizes.latencyRounds; k++) {
    plan.push({ kind: "closed", label: "direct", target: direct, concurrency: 1, count: sizes.latencyPerRound });
    plan.push({ kind: "closed", label: "dispatch", target: dispatch, concurrency: 1, count: sizes.latencyPerRound });
  }
  const side = compare(await runLoad(ctx, plan));
  return {
    p50: round(side.dispatch_ms.p50 - side.direct_ms.p50),
    p99: round(side.dispatch_ms.p99 - side.direct_ms.p99),
    rounds: sizes.latencyRounds,
    ...side,
  };
}

export async function measureAddedLatencyAtRate(ctx: BenchContext, sizes: BenchSizes, orchestrator: RunningOrchestrator, fake: RunningFake): Promise<AddedLatencyAtRate> {
  const body = chatBody(FAKE_MODEL, ANSWER_TOKENS, false);
  const direct = directTarget(fake, body);
  const dispatch = dispatchTarget(orchestrator, ctx.secrets, body);
  const count = Math.max(1, Math.round(sizes.openRate * sizes.openSeconds));
  const warm = Math.max(1, Math.round(count / 4));
  const plan: LoadPhase[] = [
    { kind: "open", label: "warmup", target: direct, rate: sizes.openRate, count: warm },
    { kind: "open", label: "warmup", target: dispatch, rate: sizes.openRate, count: warm },
  ];
  for (let k = 0; k < sizes.openRounds; k++) {
    plan.push({ kind: "open", label: "direct", target: direct, rate: sizes.openRate, count });
    plan.push({ kind: "open", label: "dispatch", target: dispatch, rate: sizes.openRate, count });
  }
  const results = await runLoad(ctx, plan);
  const side = compare(results);
  const achieved = (label: string) => {
    const mine = results.filter((r) => r.label === label);
    const seconds = mine.reduce((s, r) => s + r.elapsedMs, 0) / 1000;
    return round(mine.reduce((n, r) => n + r.ok, 0) / seconds, 1);
  };
  return {
    p50: round(side.dispatch_ms.p50 - side.direct_ms.p50),
    p99: round(side.dispatch_ms.p99 - side.direct_ms.p99),
    rate_per_s: sizes.openRate,
    achieved_per_s: { direct: achieved("direct"), dispatch: achieved("dispatch") },
    max_send_lag_ms: round(Math.max(0, ...results.filter((r) => r.label !== "warmup").map((r) => r.maxSendLagMs ?? 0))),
    ...side,
  };
}
