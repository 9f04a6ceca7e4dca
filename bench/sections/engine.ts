/**
 * A real engine: llama.cpp's llama-server (`make engine`) with the tiny random-weight model.
 * Time to first token and tokens per second read straight from llama-server and through
 * orchestrator + compiled worker (runtime llamacpp), in alternating rounds so drift hits both
 * sides alike. Greedy decoding (temperature 0): both sides get the same text, which is checked.
 */
import { join } from "node:path";
import { llamaEngineDir, llamaServerArgs, llamaServerBin, readListeningPort, tinyModelPath } from "../../scripts/llama-engine.ts";
import { type BenchContext, dispatchTarget, type RunningOrchestrator, runLoad, startWorker } from "../cluster.ts";
import type { LoadPhase, LoadTarget, PhaseResult } from "../load-gen.ts";
import { lastLines } from "../processes.ts";
import type { BenchSizes } from "../sizes.ts";
import { round, type Spread, spread, type Summary, summarize } from "../stats.ts";

export const ENGINE_MODEL = "tiny-llama";
const TTFT_TOKENS = 16;

export interface EngineResult {
  engine_ttft_added_ms: number;
  engine_tokens_ratio: number;
  engine: {
    server: string;
    model: string;
    threads: number;
    extra_args: string[];
    ttft_direct_ms: Summary;
    ttft_dispatch_ms: Summary;
    ttft_added_ms: { p50: number; p99: number };
    direct_tokens_per_s: Spread;
    dispatch_tokens_per_s: Spread;
    tokens_per_stream: number;
    /** Every stream through the worker carried the same text and token count as the direct one. */
    same_text: boolean;
    errors: { direct: number; dispatch: number };
    error_sample?: string;
  };
}

function body(maxTokens: number): string {
  return JSON.stringify({
    model: ENGINE_MODEL,
    messages: [{ role: "user", content: "Write a long story about a river." }],
    max_tokens: maxTokens,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
  });
}

export async function measureEngine(ctx: BenchContext, sizes: BenchSizes, orchestrator: RunningOrchestrator): Promise<EngineResult> {
  const dir = llamaEngineDir();
  const threads = Number(process.env.BASIS_LLAMA_THREADS) || 1;
  const extraArgs = (process.env.BASIS_LLAMA_ARGS ?? "").split(/\s+/).filter(Boolean);
  const args = llamaServerArgs({
    modelPath: tinyModelPath(undefined, dir),
    alias: ENGINE_MODEL,
    slots: 1,
    contextSize: Math.max(4096, sizes.engineTokens * 2),
    threads,
    port: 0,
    extraArgs,
  });
  const server = ctx.group.spawn("llama-server", [llamaServerBin(dir), ...args]);
  const line = await server.waitForLine(/listening on http/, 20_000);
  const port = line ? readListeningPort(line) : 0;
  if (!port) throw new Error(`llama-server did not start: ${lastLines(server.output())}`);
  const url = `http://127.0.0.1:${port}`;
  for (const until = Date.now() + 20_000; (await fetch(`${url}/health`).then((r) => r.status, () => 0)) !== 200; ) {
    if (Date.now() > until || server.proc.exitCode !== null) throw new Error(`llama-server did not get healthy: ${lastLines(server.output())}`);
    await Bun.sleep(20);
  }
  const worker = await startWorker(ctx, orchestrator, { id: "bench-llamacpp", runtime: "llamacpp", concurrency: 1, backendUrl: url, backendModel: ENGINE_MODEL });
  try {
    const direct = (tokens: number): LoadTarget => ({ url: `${url}/v1/chat/completions`, headers: { "content-type": "application/json" }, body: body(tokens) });
    const through = (tokens: number) => dispatchTarget(orchestrator, ctx.secrets, body(tokens));
    const plan: LoadPhase[] = [
      { kind: "stream", label: "warmup", target: direct(TTFT_TOKENS), count: 2 },
      { kind: "stream", label: "warmup", target: through(TTFT_TOKENS), count: 2 },
    ];
    for (let k = 0; k < sizes.engineRounds; k++) {
      plan.push({ kind: "stream", label: "ttft-direct", target: direct(TTFT_TOKENS), count: sizes.engineTtftPerRound });
      plan.push({ kind: "stream", label: "ttft-dispatch", target: through(TTFT_TOKENS), count: sizes.engineTtftPerRound });
      plan.push({ kind: "stream", label: "rate-direct", target: direct(sizes.engineTokens), count: 1 });
      plan.push({ kind: "stream", label: "rate-dispatch", target: through(sizes.engineTokens), count: 1 });
    }
    return summarizeEngine(await runLoad(ctx, plan), sizes, { threads, extraArgs, server: join(dir, "bin", "llama-server") });
  } finally {
    await ctx.group.stop(worker.child);
    await ctx.group.stop(server);
  }
}

function summarizeEngine(results: PhaseResult[], sizes: BenchSizes, setup: { threads: number; extraArgs: string[]; server: string }): EngineResult {
  const pick = (label: string) => results.filter((r) => r.label === label);
  const ttftDirect = summarize(pick("ttft-direct").flatMap((r) => r.ttft ?? []));
  const ttftDispatch = summarize(pick("ttft-dispatch").flatMap((r) => r.ttft ?? []));
  const rates = (label: string) => pick(label).flatMap((r) => (r.tokens ?? []).map((tokens, i) => tokens / (((r.totals ?? [])[i] as number) / 1000)));
  const direct = spread(rates("rate-direct"));
  const dispatch = spread(rates("rate-dispatch"));
  const shapes = (label: string) => pick(label).flatMap((r) => (r.chars ?? []).map((chars, i) => `${chars}/${(r.tokens ?? [])[i]}`));
  const sameText = new Set([...shapes("rate-direct"), ...shapes("rate-dispatch")]).size === 1;
  const errorsOf = (side: string) => results.filter((r) => r.label.endsWith(side)).reduce((n, r) => n + r.errors, 0);
  const sample = results.find((r) => r.errorSample)?.errorSample;
  return {
    engine_ttft_added_ms: round(ttftDispatch.p50 - ttftDirect.p50),
    engine_tokens_ratio: round(dispatch.median / direct.median),
    engine: {
      server: setup.server,
      model: `${ENGINE_MODEL} (scripts/tiny-model.ts: 64 wide, 2 layers, 32k vocab)`,
      threads: setup.threads,
      extra_args: setup.extraArgs,
      ttft_direct_ms: ttftDirect,
      ttft_dispatch_ms: ttftDispatch,
      ttft_added_ms: { p50: round(ttftDispatch.p50 - ttftDirect.p50), p99: round(ttftDispatch.p99 - ttftDirect.p99) },
      direct_tokens_per_s: { min: Math.round(direct.min), median: Math.round(direct.median), max: Math.round(direct.max) },
      dispatch_tokens_per_s: { min: Math.round(dispatch.min), median: Math.round(dispatch.median), max: Math.round(dispatch.max) },
      tokens_per_stream: sizes.engineTokens,
      same_text: sameText,
      errors: { direct: errorsOf("direct"), dispatch: errorsOf("dispatch") },
      ...(sample ? { error_sample: sample } : {}),
    },
  };
}
