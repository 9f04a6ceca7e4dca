/**
 * Footprint: what running the worker costs a host. Cold start of `--version` and `--help`
 * (spawn to exit), launch-to-connected of `basis-worker start`, idle RSS, binary sizes.
 */
import { statSync } from "node:fs";
import { type BenchContext, type RunningOrchestrator, startWorker } from "../cluster.ts";
import { readRssMb, track } from "../processes.ts";
import type { BenchSizes } from "../sizes.ts";
import { round, type Spread, spread } from "../stats.ts";

export interface FootprintResult {
  cold_start_version_ms: number;
  cold_start_help_ms: number;
  launch_to_connected_ms: number;
  idle_worker_rss_mb: number | null;
  footprint: {
    cold_start_version_ms: Spread;
    cold_start_help_ms: Spread;
    launch_to_connected_ms: Spread;
    idle_worker_rss_mb: Spread | null;
    binary_size_mb: { "basis-worker": number; "basis-canary": number };
  };
}

async function timeSpawn(argv: string[]): Promise<number> {
  const started = performance.now();
  const proc = track(Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "ignore" }));
  const code = await proc.exited;
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}`);
  return ms;
}

function sizeMb(path: string): number {
  return round(statSync(path).size / 2 ** 20, 1);
}

export async function measureFootprint(ctx: BenchContext, sizes: BenchSizes, orchestrator: RunningOrchestrator): Promise<FootprintResult> {
  const version: number[] = [];
  const help: number[] = [];
  // Interleaved, so a page-cache or CPU-frequency drift hits both alike.
  for (let k = 0; k < sizes.coldStartRuns; k++) {
    version.push(await timeSpawn([ctx.workerBin, "--version"]));
    help.push(await timeSpawn([ctx.workerBin, "--help"]));
  }
  const connected: number[] = [];
  const rss: number[] = [];
  for (let k = 0; k < sizes.launchRuns; k++) {
    const worker = await startWorker(ctx, orchestrator, { id: `bench-launch-${k}`, runtime: "echo", concurrency: 1 });
    connected.push(worker.connectedMs);
    await Bun.sleep(sizes.idleSettleMs);
    const mb = readRssMb(worker.child.pid);
    if (mb !== undefined) rss.push(mb);
    await ctx.group.stop(worker.child);
  }
  const versionSpread = spread(version);
  const helpSpread = spread(help);
  const connectedSpread = spread(connected);
  const rssSpread = rss.length ? spread(rss) : null;
  return {
    cold_start_version_ms: versionSpread.median,
    cold_start_help_ms: helpSpread.median,
    launch_to_connected_ms: connectedSpread.median,
    idle_worker_rss_mb: rssSpread?.median ?? null,
    footprint: {
      cold_start_version_ms: versionSpread,
      cold_start_help_ms: helpSpread,
      launch_to_connected_ms: connectedSpread,
      idle_worker_rss_mb: rssSpread,
      binary_size_mb: { "basis-worker": sizeMb(ctx.workerBin), "basis-canary": sizeMb(ctx.canaryBin) },
    },
  };
}
