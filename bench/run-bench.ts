/**
 * `make bench`: starts the compiled orchestrator and workers, a fake OpenAI-compatible backend
 * and a load generator (each in its own process), measures, writes bench/results.json and
 * prints a table. A section that cannot run says why and reports null, never a made-up number.
 * The engine section runs the same against a real llama.cpp llama-server (`make engine`).
 * Usage: bun bench/run-bench.ts [--tiny] [--out PATH] [--only footprint,latency,rate,relay,peer,throughput,engine,scale]
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type BenchContext, type RunningWorker, startFakeBackend, startOrchestrator, startWorker } from "./cluster.ts";
import { FAKE_MODEL } from "./fake-openai.ts";
import { describeMachine } from "./machine.ts";
import { ChildGroup, killAllChildren } from "./processes.ts";
import { type BenchResults, checkTargets, formatTable } from "./report.ts";
import { measureFootprint } from "./sections/footprint.ts";
import { measureEngine } from "./sections/engine.ts";
import { measureAddedLatency, measureAddedLatencyAtRate } from "./sections/latency.ts";
import { measurePeer } from "./sections/peer.ts";
import { measureRelay } from "./sections/relay.ts";
import { measureScale } from "./sections/scale.ts";
import { measureThroughput } from "./sections/throughput.ts";
import { type BenchSizes, FULL, TINY } from "./sizes.ts";
import { round } from "./stats.ts";

export const SECTIONS = ["footprint", "latency", "rate", "relay", "peer", "throughput", "engine", "scale"] as const;
export type SectionName = (typeof SECTIONS)[number];

export interface RunBenchOptions {
  sizes: BenchSizes;
  workerBin: string;
  canaryBin: string;
  only?: readonly SectionName[];
  log?: (message: string) => void;
}

const ROOT = resolve(import.meta.dir, "..");

function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 600);
}

function emptyResults(machine: BenchResults["machine"], sizes: BenchSizes): Omit<BenchResults, "targets"> {
  const notRun = "not selected (--only)";
  return {
    generated_at: new Date().toISOString(),
    size: sizes.name,
    duration_s: 0,
    machine,
    added_latency_ms: { p50: null, p99: null, skipped: notRun },
    added_latency_500rps_ms: { p50: null, p99: null, skipped: notRun },
    relay_tokens_per_s: null,
    relay_ratio: null,
    relay: { skipped: notRun },
    peer: { skipped: notRun },
    dispatch_jobs_per_s: null,
    dispatch: { skipped: notRun },
    workers_1000: { online_s: null, orchestrator_rss_mb: null, skipped: notRun },
    cold_start_version_ms: null,
    cold_start_help_ms: null,
    launch_to_connected_ms: null,
    idle_worker_rss_mb: null,
    footprint: { skipped: notRun },
    engine_ttft_added_ms: null,
    engine_tokens_ratio: null,
    engine: { skipped: notRun },
  };
}

export async function runBench(options: RunBenchOptions): Promise<BenchResults> {
  const started = performance.now();
  const log = options.log ?? ((message: string) => process.stderr.write(`[bench] ${message}\n`));
  const wanted = (name: SectionName) => !options.only || options.only.includes(name);
  const secrets = { dispatch: randomBytes(24).toString("base64url"), authKey: randomBytes(24).toString("base64url") };
  const tmp = mkdtempSync(join(tmpdir(), "basis-bench-"));
  const group = new ChildGroup([secrets.dispatch, secrets.authKey]);
  const ctx: BenchContext = { group, tmp, workerBin: options.workerBin, canaryBin: options.canaryBin, secrets, log };
  const { sizes } = options;
  const results = emptyResults(await describeMachine(options.workerBin), sizes);
  try {
    const orchestrator = await startOrchestrator(ctx);
    if (wanted("footprint")) {
      log("footprint: cold start, launch to connected, idle RSS, sizes");
      try {
        Object.assign(results, await measureFootprint(ctx, sizes, orchestrator));
      } catch (error) {
        results.footprint = { skipped: `failed: ${errorText(error)}` };
      }
    }

    if (wanted("latency") || wanted("rate") || wanted("relay") || wanted("peer")) {
      const fake = await startFakeBackend(ctx);
      let worker: RunningWorker | undefined;
      let unavailable: string | undefined;
      try {
        worker = await startWorker(ctx, orchestrator, { id: "bench-openai", runtime: "openai", concurrency: 256, backendUrl: fake.url, backendModel: FAKE_MODEL });
      } catch (error) {
        unavailable = `a compiled worker with BASIS_WORKER_RUNTIME=openai could not start against the fake backend (${errorText(error)})`;
        log(`skipping added latency, 500 req/s and relay: ${unavailable}`);
      }
      const attempt = async <T>(name: SectionName, label: string, measure: () => Promise<T>, onSkip: (reason: string) => void, onDone: (value: T) => void) => {
        if (!wanted(name)) return;
        if (unavailable) return onSkip(unavailable);
        log(label);
        try {
          onDone(await measure());
        } catch (error) {
          onSkip(`failed: ${errorText(error)}`);
        }
      };
      await attempt(
        "latency",
        `added latency, concurrency 1, ${sizes.latencyRounds * sizes.latencyPerRound} requests per side`,
        () => measureAddedLatency(ctx, sizes, orchestrator, fake),
        (skipped) => (results.added_latency_ms = { p50: null, p99: null, skipped }),
        (value) => (results.added_latency_ms = value),
      );
      await attempt(
        "rate",
        `added latency at ${sizes.openRate} req/s open loop`,
        () => measureAddedLatencyAtRate(ctx, sizes, orchestrator, fake),
        (skipped) => (results.added_latency_500rps_ms = { p50: null, p99: null, skipped }),
        (value) => (results.added_latency_500rps_ms = value),
      );
      await attempt(
        "relay",
        `streaming relay, ${sizes.relayTokens.toLocaleString("en-US")} tokens per stream`,
        () => measureRelay(ctx, sizes, orchestrator, fake),
        (skipped) => (results.relay = { skipped }),
        (value) => Object.assign(results, value),
      );
      await attempt(
        "peer",
        "peer: Portkey's gateway (one hop) and ours (two hops) in front of the same fake, whole answers and streams",
        () => measurePeer(ctx, sizes, orchestrator, fake),
        (skipped) => (results.peer = { skipped }),
        (value) => Object.assign(results, value),
      );
      if (worker) await group.stop(worker.child);
      await group.stop(fake.child);
    }

    if (wanted("throughput")) {
      log(`dispatch throughput: ${sizes.throughputWorkers} echo workers, ${sizes.throughputClients} clients`);
      try {
        Object.assign(results, await measureThroughput(ctx, sizes, orchestrator));
      } catch (error) {
        results.dispatch = { skipped: `failed: ${errorText(error)}` };
      }
    }
    if (wanted("engine")) {
      log(`real engine: llama-server + tiny model, ${sizes.engineRounds} rounds per side, direct vs through orchestrator + worker`);
      try {
        Object.assign(results, await measureEngine(ctx, sizes, orchestrator));
      } catch (error) {
        results.engine = { skipped: `failed: ${errorText(error)}` };
      }
    }
    await group.stop(orchestrator.child);

    if (wanted("scale")) {
      log(`scale: ${sizes.scaleWorkers} simulated workers`);
      try {
        results.workers_1000 = await measureScale(ctx, sizes);
      } catch (error) {
        results.workers_1000 = { online_s: null, orchestrator_rss_mb: null, skipped: `failed: ${errorText(error)}` };
      }
    }
  } catch (error) {
    throw new Error(`the benchmark could not set up: ${errorText(error)}`);
  } finally {
    await group.stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
  results.duration_s = round((performance.now() - started) / 1000, 1);
  return { ...results, targets: checkTargets(results) };
}

function parseOnly(value: string | undefined): SectionName[] | undefined {
  if (!value) return undefined;
  const names = value.split(",").map((s) => s.trim());
  for (const name of names) {
    if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`unknown section "${name}"; use ${SECTIONS.join(",")}`);
  }
  return names as SectionName[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tiny: { type: "boolean", default: false },
      out: { type: "string", default: join(ROOT, "bench", "results.json") },
      only: { type: "string" },
      "worker-bin": { type: "string", default: join(ROOT, "dist", "basis-worker") },
      "canary-bin": { type: "string", default: join(ROOT, "dist", "basis-canary") },
    },
  });
  const sizes = values.tiny ? TINY : FULL;
  // The issue bounds the whole run; a hung child must not hold `make bench` forever.
  const limitMs = sizes.name === "full" ? 295_000 : 90_000;
  const watchdog = setTimeout(() => {
    process.stderr.write(`[bench] the run passed its ${limitMs / 1000} s bound; stopping\n`);
    killAllChildren();
    process.exit(1);
  }, limitMs);
  process.on("SIGINT", () => {
    killAllChildren();
    process.exit(130);
  });
  const results = await runBench({ sizes, workerBin: values["worker-bin"], canaryBin: values["canary-bin"], only: parseOnly(values.only) });
  clearTimeout(watchdog);
  await Bun.write(values.out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${formatTable(results)}\n\nwrote ${values.out}\n`);
}

if (import.meta.main) {
  await main().catch((error: unknown) => {
    process.stderr.write(`[bench] ${errorText(error)}\n`);
    process.exit(1);
  });
}
