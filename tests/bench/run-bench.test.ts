/**
 * Smoke test: the whole harness at tiny sizes, so it cannot rot. It checks the shape of
 * bench/results.json, never a timing: numbers on a shared CI machine mean nothing.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const REQUIRED_NUMBERS = [
  "added_latency_ms.p50",
  "added_latency_ms.p99",
  "added_latency_500rps_ms.p99",
  "relay_tokens_per_s",
  "relay_ratio",
  "dispatch_jobs_per_s",
  "workers_1000.online_s",
  "workers_1000.orchestrator_rss_mb",
  "cold_start_version_ms",
  "launch_to_connected_ms",
  "idle_worker_rss_mb",
  "peer.portkey_added_ms.whole.p50",
  "peer.portkey_added_ms.whole.p99",
  "peer.portkey_added_ms.stream.p50",
  "peer.portkey_added_ms.stream.p99",
  "peer.ours_added_ms.whole.p50",
  "peer.ours_added_ms.stream.p99",
  "engine_ttft_added_ms",
  "engine_tokens_ratio",
];
/** Where the skip reason of each figure lives when the figure is null. */
const SECTION_OF: Record<string, string> = {
  "added_latency_ms.p50": "added_latency_ms",
  "added_latency_ms.p99": "added_latency_ms",
  "added_latency_500rps_ms.p99": "added_latency_500rps_ms",
  relay_tokens_per_s: "relay",
  relay_ratio: "relay",
  dispatch_jobs_per_s: "dispatch",
  "workers_1000.online_s": "workers_1000",
  "workers_1000.orchestrator_rss_mb": "workers_1000",
  cold_start_version_ms: "footprint",
  launch_to_connected_ms: "footprint",
  idle_worker_rss_mb: "footprint",
  "peer.portkey_added_ms.whole.p50": "peer",
  "peer.portkey_added_ms.whole.p99": "peer",
  "peer.portkey_added_ms.stream.p50": "peer",
  "peer.portkey_added_ms.stream.p99": "peer",
  "peer.ours_added_ms.whole.p50": "peer",
  "peer.ours_added_ms.stream.p99": "peer",
  engine_ttft_added_ms: "engine",
  engine_tokens_ratio: "engine",
};

function at(doc: Record<string, unknown>, path: string): unknown {
  return path.split(".").reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], doc);
}

describe("bench/run-bench.ts --tiny", () => {
  const dir = mkdtempSync(join(tmpdir(), "bench-smoke-"));
  const out = join(dir, "results.json");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let doc: Record<string, unknown> = {};
  let stdout = "";

  test(
    "runs every section against the compiled binaries and writes results.json",
    async () => {
      expect(existsSync(join(ROOT, "dist", "basis-worker"))).toBe(true);
      const proc = Bun.spawn([process.execPath, join(ROOT, "bench", "run-bench.ts"), "--tiny", "--out", out], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
      const [text, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      stdout = text;
      if (code !== 0) throw new Error(`run-bench exited ${code}: ${err.slice(-2000)}`);
      doc = (await Bun.file(out).json()) as Record<string, unknown>;
      expect(doc.size).toBe("tiny");
    },
    90_000,
  );

  test.each(REQUIRED_NUMBERS)("%s is a number, or null with the reason its section was skipped", (path) => {
    const value = at(doc, path);
    if (value === null) {
      expect(typeof at(doc, `${SECTION_OF[path]}.skipped`)).toBe("string");
    } else {
      expect(typeof value).toBe("number");
      expect(Number.isFinite(value as number)).toBe(true);
    }
  });

  test("no section failed (a skip is only for a runtime this build lacks)", () => {
    for (const section of new Set(Object.values(SECTION_OF))) {
      const skipped = at(doc, `${section}.skipped`);
      if (typeof skipped === "string") expect(skipped).not.toStartWith("failed:");
    }
    expect(at(doc, "dispatch.errors")).toBe(0);
    expect(at(doc, "workers_1000.dispatch_ok")).toBe(true);
    // Portkey, ours and the direct side all answered every measured request.
    expect(at(doc, "peer.errors")).toEqual({ direct: 0, ours: 0, portkey: 0 });
  });

  test("the real engine ran both ways with the same text, and is printed side by side", () => {
    expect(at(doc, "engine.errors")).toEqual({ direct: 0, dispatch: 0 });
    expect(at(doc, "engine.same_text")).toBe(true);
    expect(at(doc, "engine.direct_tokens_per_s.median") as number).toBeGreaterThan(0);
    expect(stdout).toContain("real engine: llama-server, tiny model");
    expect(stdout).toMatch(/time to first token p50 +[\d.]+ ms +[\d.]+ ms/);
  });

  test("records the machine: cores, CPU model and versions", () => {
    const machine = doc.machine as Record<string, unknown>;
    expect(machine.cores).toBeGreaterThan(0);
    expect(typeof machine.cpu_model).toBe("string");
    expect(machine.bun_version).toBe(Bun.version);
    expect(String(machine.basis_version)).toStartWith("basis-worker ");
  });

  test("checks each target and prints them as a table", () => {
    const targets = doc.targets as { figure: string; met: boolean | null }[];
    expect(targets.length).toBeGreaterThanOrEqual(11);
    for (const target of targets) expect(stdout).toContain(target.figure);
  });

  test("keeps the throwaway secrets out of the results", async () => {
    const text = await Bun.file(out).text();
    expect(text).not.toMatch(/bearer|BASIS_WORKER_AUTH_KEY|BASIS_ORCHESTRATOR_SECRET/i);
  });
});
