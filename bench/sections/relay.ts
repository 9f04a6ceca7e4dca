/**
 * Streaming relay: time to first token added by the worker path, and tokens per second one
 * worker relays from a backend that streams as fast as it can, against reading it directly.
 * Both sides parse every SSE event and its JSON, as a real client does.
 *
 * A relay stream is far faster than real hardware decodes, so the orchestrator rightly marks
 * the worker that served it `implausibly_fast` and cools it down (1 s, then 2 s, 4 s, ...).
 * A second stream on that worker would wait out the cooldown and measure it instead of the
 * relay, and the shared worker would carry the cooldown into the sections after this one.
 * So each relay stream runs on a worker of its own, on an orchestrator of its own, that has
 * served nothing but a short warm-up; it is stopped after its round.
 */
import {
  type BenchContext,
  chatBody,
  directTarget,
  dispatchTarget,
  type RunningFake,
  type RunningOrchestrator,
  runLoad,
  startOrchestrator,
  startWorker,
} from "../cluster.ts";
import { FAKE_MODEL, FAKE_TOKEN } from "../fake-openai.ts";
import type { LoadPhase, PhaseResult } from "../load-gen.ts";
import type { BenchSizes } from "../sizes.ts";
import { round, type Spread, type Summary, spread, summarize } from "../stats.ts";

const TTFT_TOKENS = 16;

export interface RelayResult {
  relay_tokens_per_s: number;
  relay_ratio: number;
  relay: {
    direct_tokens_per_s: Spread;
    dispatch_tokens_per_s: Spread;
    tokens_per_stream: number;
    /** Every relayed stream carried exactly the text the backend sent (by length and token count). */
    intact: boolean;
    ttft_added_ms: { p50: number; p99: number };
    ttft_direct_ms: Summary;
    ttft_dispatch_ms: Summary;
    errors: { direct: number; dispatch: number };
    error_sample?: string;
  };
}

function pick(results: PhaseResult[], label: string): PhaseResult[] {
  return results.filter((r) => r.label === label);
}

export async function measureRelay(ctx: BenchContext, sizes: BenchSizes, orchestrator: RunningOrchestrator, fake: RunningFake): Promise<RelayResult> {
  const short = chatBody(FAKE_MODEL, TTFT_TOKENS, true);
  const long = chatBody(FAKE_MODEL, sizes.relayTokens, true);
  const plan: LoadPhase[] = [
    { kind: "stream", label: "warmup", target: directTarget(fake, short), count: 5 },
    { kind: "stream", label: "warmup", target: dispatchTarget(orchestrator, ctx.secrets, short), count: 5 },
  ];
  for (let k = 0; k < sizes.ttftRounds; k++) {
    plan.push({ kind: "stream", label: "ttft-direct", target: directTarget(fake, short), count: sizes.ttftPerRound });
    plan.push({ kind: "stream", label: "ttft-dispatch", target: dispatchTarget(orchestrator, ctx.secrets, short), count: sizes.ttftPerRound });
  }
  const results = await runLoad(ctx, plan);
  // The check judges only answers of more than 16 tokens: the TTFT_TOKENS warm-up leaves each relay worker in good standing.
  const relayOrchestrator = await startOrchestrator(ctx);
  try {
    for (let k = 0; k < sizes.relayRounds; k++) {
      const worker = await startWorker(ctx, relayOrchestrator, { id: `bench-relay-${k + 1}`, runtime: "openai", concurrency: 256, backendUrl: fake.url, backendModel: FAKE_MODEL });
      try {
        const round: LoadPhase[] = [
          { kind: "stream", label: "relay-warmup", target: dispatchTarget(relayOrchestrator, ctx.secrets, short), count: 5 },
          { kind: "stream", label: "relay-direct", target: directTarget(fake, long), count: 1 },
          { kind: "stream", label: "relay-dispatch", target: dispatchTarget(relayOrchestrator, ctx.secrets, long), count: 1 },
        ];
        results.push(...(await runLoad(ctx, round)));
      } finally {
        await ctx.group.stop(worker.child);
      }
    }
  } finally {
    await ctx.group.stop(relayOrchestrator.child);
  }
  const ttftDirect = summarize(pick(results, "ttft-direct").flatMap((r) => r.ttft ?? []));
  const ttftDispatch = summarize(pick(results, "ttft-dispatch").flatMap((r) => r.ttft ?? []));
  const rates = (label: string) =>
    pick(results, label).flatMap((r) => (r.tokens ?? []).map((tokens, i) => tokens / (((r.totals ?? [])[i] as number) / 1000)));
  const direct = spread(rates("relay-direct"));
  const dispatch = spread(rates("relay-dispatch"));
  const streams = pick(results, "relay-direct").concat(pick(results, "relay-dispatch"));
  const intact =
    streams.every((r) => r.errors === 0) &&
    streams.every((r) => (r.chars ?? []).every((c) => c === sizes.relayTokens * FAKE_TOKEN.length) && (r.tokens ?? []).every((t) => t === sizes.relayTokens));
  const errorsOf = (side: string) => results.filter((r) => r.label.endsWith(side)).reduce((n, r) => n + r.errors, 0);
  const sample = results.find((r) => r.errorSample)?.errorSample;
  return {
    relay_tokens_per_s: Math.round(dispatch.median),
    relay_ratio: round(dispatch.median / direct.median),
    relay: {
      direct_tokens_per_s: { min: Math.round(direct.min), median: Math.round(direct.median), max: Math.round(direct.max) },
      dispatch_tokens_per_s: { min: Math.round(dispatch.min), median: Math.round(dispatch.median), max: Math.round(dispatch.max) },
      tokens_per_stream: sizes.relayTokens,
      intact,
      ttft_added_ms: { p50: round(ttftDispatch.p50 - ttftDirect.p50), p99: round(ttftDispatch.p99 - ttftDirect.p99) },
      ttft_direct_ms: ttftDirect,
      ttft_dispatch_ms: ttftDispatch,
      errors: { direct: errorsOf("direct"), dispatch: errorsOf("dispatch") },
      ...(sample ? { error_sample: sample } : {}),
    },
  };
}
