/** The results document (bench/results.json), its targets, and the printed table. */
import type { MachineInfo } from "./machine.ts";
import type { PeerResult } from "./sections/peer.ts";
import type { RelayResult } from "./sections/relay.ts";
import type { AddedLatency, AddedLatencyAtRate } from "./sections/latency.ts";
import type { ScaleResult } from "./sections/scale.ts";
import type { ThroughputResult } from "./sections/throughput.ts";
import type { FootprintResult } from "./sections/footprint.ts";
import type { EngineResult } from "./sections/engine.ts";

export interface SkippedFigure {
  p50: null;
  p99: null;
  skipped: string;
}

export interface BenchResults {
  generated_at: string;
  size: "full" | "tiny";
  duration_s: number;
  machine: MachineInfo;
  added_latency_ms: AddedLatency | SkippedFigure;
  added_latency_500rps_ms: AddedLatencyAtRate | SkippedFigure;
  relay_tokens_per_s: number | null;
  relay_ratio: number | null;
  relay: RelayResult["relay"] | { skipped: string };
  /** Portkey's open-source gateway in the same run: `peer.portkey_added_ms` beside ours. */
  peer: PeerResult["peer"] | { skipped: string };
  dispatch_jobs_per_s: number | null;
  dispatch: ThroughputResult["dispatch"] | { skipped: string };
  workers_1000: ScaleResult | { online_s: null; orchestrator_rss_mb: null; skipped: string };
  cold_start_version_ms: number | null;
  cold_start_help_ms: number | null;
  launch_to_connected_ms: number | null;
  idle_worker_rss_mb: number | null;
  footprint: FootprintResult["footprint"] | { skipped: string };
  engine_ttft_added_ms: number | null;
  engine_tokens_ratio: number | null;
  engine: EngineResult["engine"] | { skipped: string };
  targets: TargetCheck[];
}

export interface TargetCheck {
  figure: string;
  value: number | null;
  unit: string;
  target: string;
  /** null when the figure was skipped. */
  met: boolean | null;
}

type Results = Omit<BenchResults, "targets">;

function check(figure: string, value: number | null | undefined, unit: string, op: "<=" | ">=" | "<", limit: number): TargetCheck {
  const v = value ?? null;
  const met = v === null ? null : op === "<=" ? v <= limit : op === ">=" ? v >= limit : v < limit;
  return { figure, value: v, unit, target: `${op} ${limit.toLocaleString("en-US")} ${unit}`, met };
}

/** The issue's targets for a 2-core machine. */
export function checkTargets(r: Results): TargetCheck[] {
  const dispatchErrors = "errors" in r.dispatch ? r.dispatch.errors : null;
  const scaleDispatchOk = "dispatch_ok" in r.workers_1000 ? r.workers_1000.dispatch_ok : null;
  return [
    check("added latency p50, concurrency 1", r.added_latency_ms.p50, "ms", "<=", 1),
    check("added latency p99, concurrency 1", r.added_latency_ms.p99, "ms", "<=", 3),
    check("added latency p99 at 500 req/s", r.added_latency_500rps_ms.p99, "ms", "<=", 10),
    check("tokens/s relayed by one worker", r.relay_tokens_per_s, "tok/s", ">=", 50_000),
    check("relay vs direct read", r.relay_ratio, "x", ">=", 0.9),
    check("dispatch throughput, 4 echo workers", r.dispatch_jobs_per_s, "jobs/s", ">=", 3_000),
    { figure: "dispatch errors", value: dispatchErrors, unit: "", target: "= 0", met: dispatchErrors === null ? null : dispatchErrors === 0 },
    check("1,000 workers online", r.workers_1000.online_s, "s", "<", 10),
    check("orchestrator RSS with 1,000 workers", r.workers_1000.orchestrator_rss_mb, "MB", "<=", 300),
    { figure: "dispatch among 1,000 workers", value: scaleDispatchOk === null ? null : Number(scaleDispatchOk), unit: "", target: "works", met: scaleDispatchOk },
    ...peerChecks(r),
    check("cold start --version", r.cold_start_version_ms, "ms", "<=", 20),
    check("launch to connected", r.launch_to_connected_ms, "ms", "<=", 50),
    check("idle worker RSS", r.idle_worker_rss_mb, "MB", "<=", 50),
  ];
}

/** Our two hops add no more than Portkey's one, at p50 and p99, whole answers and streams. */
function peerChecks(r: Results): TargetCheck[] {
  const peer = "portkey_added_ms" in r.peer ? r.peer : undefined;
  return (["whole", "stream"] as const).flatMap((kind) =>
    (["p50", "p99"] as const).map((q) => {
      const ours = peer ? peer.ours_added_ms[kind][q] : null;
      const theirs = peer ? peer.portkey_added_ms[kind][q] : null;
      const target = theirs === null ? "<= Portkey's" : `<= ${theirs} ms (Portkey)`;
      return { figure: `added ${q}, ${kind === "whole" ? "whole answers" : "streams"}, vs Portkey`, value: ours, unit: "ms", target, met: ours === null || theirs === null ? null : ours <= theirs };
    }),
  );
}

function show(value: number | null): string {
  if (value === null) return "skipped";
  return Math.abs(value) >= 1000 ? Math.round(value).toLocaleString("en-US") : String(value);
}

export function formatTable(results: BenchResults): string {
  const m = results.machine;
  const rows = results.targets.map((t) => [t.figure, `${show(t.value)} ${t.value === null ? "" : t.unit}`.trim(), t.target, t.met === null ? "-" : t.met ? "met" : "MISSED"]);
  const header = ["figure", "value", "target", "status"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join("  ");
  const skipped = [
    ["added latency", results.added_latency_ms],
    ["500 req/s", results.added_latency_500rps_ms],
    ["relay", results.relay],
    ["peer", results.peer],
    ["dispatch", results.dispatch],
    ["scale", results.workers_1000],
    ["footprint", results.footprint],
    ["engine", results.engine],
  ]
    .filter(([, section]) => typeof section === "object" && section !== null && "skipped" in section)
    .map(([name, section]) => `  ${name as string}: skipped: ${(section as { skipped: string }).skipped}`);
  return [
    `basis bench (${results.size}) on ${m.cores} cores, ${m.cpu_model}, bun ${m.bun_version}, ${m.basis_version}, ${results.duration_s} s`,
    ...((m.load_average[0] ?? 0) > m.cores / 2 ? [`note: load average ${m.load_average.join(" ")} at start: other work shared the CPU, so tails are inflated`] : []),
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    ...formatEngine(results.engine),
    ...(skipped.length ? ["", ...skipped] : []),
  ].join("\n");
}

/** The real engine's figures, straight from llama-server and through orchestrator + worker, side by side. */
function formatEngine(engine: BenchResults["engine"]): string[] {
  if ("skipped" in engine) return [];
  const rows = [
    ["", "llama-server", "via worker", "added"],
    ["time to first token p50", `${engine.ttft_direct_ms.p50} ms`, `${engine.ttft_dispatch_ms.p50} ms`, `${engine.ttft_added_ms.p50} ms`],
    ["time to first token p99", `${engine.ttft_direct_ms.p99} ms`, `${engine.ttft_dispatch_ms.p99} ms`, `${engine.ttft_added_ms.p99} ms`],
    [
      `tokens/s (median, ${engine.tokens_per_stream.toLocaleString("en-US")} per stream)`,
      engine.direct_tokens_per_s.median.toLocaleString("en-US"),
      engine.dispatch_tokens_per_s.median.toLocaleString("en-US"),
      `x${(engine.dispatch_tokens_per_s.median / engine.direct_tokens_per_s.median).toFixed(2)}`,
    ],
  ];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => (row[i] as string).length)));
  const errors = engine.errors.direct + engine.errors.dispatch;
  return [
    "",
    `real engine: llama-server, tiny model, ${engine.threads} thread${engine.threads === 1 ? "" : "s"}${engine.extra_args.length ? ` ${engine.extra_args.join(" ")}` : ""}; same text both ways: ${engine.same_text ? "yes" : "NO"}${errors ? `; ${errors} errors` : ""}`,
    ...rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join("  ")),
  ];
}
