/**
 * Scale: many simulated workers (real socket.io clients with valid tokens, in their own process)
 * connect at once to a fresh orchestrator. How long until all are online, what the orchestrator's
 * memory becomes, and whether dispatch still works among them.
 */
import { join } from "node:path";
import { type BenchContext, chatBody, dispatchTarget, type RunningOrchestrator, runLoad, startOrchestrator } from "../cluster.ts";
import { lastLines, readRssMb } from "../processes.ts";
import type { BenchSizes } from "../sizes.ts";
import { round, type Summary, summarize } from "../stats.ts";

const SIM_MODEL = "sim-model";

export interface ScaleResult {
  workers: number;
  online_s: number;
  orchestrator_rss_mb: number | null;
  orchestrator_rss_before_mb: number | null;
  sim_process_rss_mb: number | null;
  dispatch_ok: boolean;
  dispatches: number;
  dispatch_errors: number;
  dispatch_latency_ms: Summary;
  error_sample?: string;
}

async function countOnline(orchestrator: RunningOrchestrator): Promise<number> {
  try {
    const body = (await (await fetch(`${orchestrator.httpUrl}/healthz`)).json()) as { workersOnline?: number };
    return body.workersOnline ?? 0;
  } catch {
    return 0;
  }
}

export async function measureScale(ctx: BenchContext, sizes: BenchSizes): Promise<ScaleResult> {
  const orchestrator = await startOrchestrator(ctx);
  try {
    await Bun.sleep(300);
    const rssBefore = readRssMb(orchestrator.child.pid);
    const sim = ctx.group.spawn("sim-workers", [process.execPath, join(import.meta.dir, "..", "sim-workers.ts"), orchestrator.wsUrl, String(sizes.scaleWorkers), SIM_MODEL, "sim"], {
      BENCH_AUTH_KEY: ctx.secrets.authKey,
    });
    const startLine = await sim.waitForLine(/"event":"start"/, 30_000);
    if (!startLine) throw new Error(`the simulated workers did not start: ${lastLines(sim.output())}`);
    const startedAt = (JSON.parse(startLine) as { at: number }).at;
    const deadline = performance.now() + 60_000;
    let online = 0;
    while ((online = await countOnline(orchestrator)) < sizes.scaleWorkers) {
      if (performance.now() > deadline) throw new Error(`only ${online} of ${sizes.scaleWorkers} simulated workers came online within 60 s: ${lastLines(sim.output())}`);
      if (sim.proc.exitCode !== null) throw new Error(`the simulated workers exited: ${lastLines(sim.output())}`);
      await Bun.sleep(20);
    }
    const onlineS = (Date.now() - startedAt) / 1000;
    // Let the connection storm's garbage be collected before reading memory.
    await Bun.sleep(1_000);
    const rssAfter = readRssMb(orchestrator.child.pid);
    const simRss = readRssMb(sim.pid);
    const target = dispatchTarget(orchestrator, ctx.secrets, chatBody(SIM_MODEL, 1, false));
    const [result] = await runLoad(ctx, [{ kind: "closed", label: "dispatch", target, concurrency: 8, count: sizes.scaleDispatches }]);
    await ctx.group.stop(sim);
    const ok = result?.ok ?? 0;
    const errors = result?.errors ?? sizes.scaleDispatches;
    return {
      workers: sizes.scaleWorkers,
      online_s: round(onlineS),
      orchestrator_rss_mb: rssAfter === undefined ? null : round(rssAfter, 1),
      orchestrator_rss_before_mb: rssBefore === undefined ? null : round(rssBefore, 1),
      sim_process_rss_mb: simRss === undefined ? null : round(simRss, 1),
      dispatch_ok: errors === 0 && ok === sizes.scaleDispatches,
      dispatches: ok,
      dispatch_errors: errors,
      dispatch_latency_ms: summarize(result?.latencies ?? []),
      ...(result?.errorSample ? { error_sample: result.errorSample } : {}),
    };
  } finally {
    await ctx.group.stop(orchestrator.child);
  }
}
