/** Dispatch throughput: jobs per second through the orchestrator to echo workers, closed loop. */
import { type BenchContext, chatBody, dispatchTarget, type RunningOrchestrator, type RunningWorker, runLoad, startWorker } from "../cluster.ts";
import type { LoadPhase } from "../load-gen.ts";
import type { BenchSizes } from "../sizes.ts";
import { round, type Spread, type Summary, spread, summarize } from "../stats.ts";

export interface ThroughputResult {
  dispatch_jobs_per_s: number;
  dispatch: {
    workers: number;
    worker_concurrency: number;
    clients: number;
    rounds: number;
    jobs_per_s: Spread;
    jobs: number;
    errors: number;
    error_sample?: string;
    latency_ms: Summary;
  };
}

export async function measureThroughput(ctx: BenchContext, sizes: BenchSizes, orchestrator: RunningOrchestrator): Promise<ThroughputResult> {
  const workers: RunningWorker[] = [];
  try {
    for (let k = 0; k < sizes.throughputWorkers; k++) {
      workers.push(await startWorker(ctx, orchestrator, { id: `bench-echo-${k}`, runtime: "echo", concurrency: sizes.throughputWorkerConcurrency }));
    }
    const target = dispatchTarget(orchestrator, ctx.secrets, chatBody("basis-default", 16, false));
    const seconds = sizes.throughputSeconds * 1000;
    const plan: LoadPhase[] = [{ kind: "closed", label: "warmup", target, concurrency: sizes.throughputClients, durationMs: Math.min(1000, seconds) }];
    for (let k = 0; k < sizes.throughputRounds; k++) {
      plan.push({ kind: "closed", label: "round", target, concurrency: sizes.throughputClients, durationMs: seconds });
    }
    const results = await runLoad(ctx, plan);
    const rounds = results.filter((r) => r.label === "round");
    const perRound = spread(rounds.map((r) => r.ok / (r.elapsedMs / 1000)));
    const errors = results.reduce((n, r) => n + r.errors, 0);
    const sample = results.find((r) => r.errorSample)?.errorSample;
    return {
      dispatch_jobs_per_s: Math.round(perRound.median),
      dispatch: {
        workers: sizes.throughputWorkers,
        worker_concurrency: sizes.throughputWorkerConcurrency,
        clients: sizes.throughputClients,
        rounds: sizes.throughputRounds,
        jobs_per_s: { min: round(perRound.min, 0), median: round(perRound.median, 0), max: round(perRound.max, 0) },
        jobs: rounds.reduce((n, r) => n + r.ok, 0),
        errors,
        ...(sample ? { error_sample: sample } : {}),
        latency_ms: summarize(rounds.flatMap((r) => r.latencies)),
      },
    };
  } finally {
    for (const worker of workers) await ctx.group.stop(worker.child);
  }
}
