/**
 * Smoke test of `bench/scaling.ts --tiny` (make bench's multi-instance figures): it runs against
 * the compiled binaries and a PostgreSQL it starts, and writes every figure. Shapes only, never
 * timings: numbers on a shared CI machine mean nothing.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { requireBinaries } from "../helpers/binaries.ts";

requireBinaries();
const ROOT = resolve(import.meta.dir, "../..");

describe("bench/scaling.ts --tiny", () => {
  const dir = mkdtempSync(join(tmpdir(), "scaling-smoke-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test(
    "measures same- and cross-instance dispatch and simulated workers on one and two instances",
    async () => {
      const out = join(dir, "scaling.json");
      const proc = Bun.spawn([process.execPath, join(ROOT, "bench", "scaling.ts"), "--tiny", "--out", out], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
      const [text, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      if (code !== 0) throw new Error(`scaling exited ${code}: ${err.slice(-2000)}`);
      const doc = (await Bun.file(out).json()) as Record<string, any>;
      const cross = doc.cross_instance_dispatch;
      expect(cross.errors).toEqual({ same: 0, cross: 0 });
      for (const side of [cross.same_instance_ms, cross.cross_instance_ms]) {
        expect(side.n).toBe(10);
        expect(Number.isFinite(side.p50)).toBe(true);
        expect(Number.isFinite(side.p99)).toBe(true);
      }
      expect(doc.workers_one_instance).toMatchObject({ workers: 40, online_s: expect.any(Number), fleet_count: 40 });
      // Asked of one instance, the count includes the other's workers.
      expect(doc.workers_two_instances).toMatchObject({ workers: 40, online_s: expect.any(Number), fleet_count: 40 });
      expect(doc.workers_one_instance.orchestrator_rss_mb).toHaveLength(1);
      expect(doc.workers_two_instances.orchestrator_rss_mb).toHaveLength(2);
      expect(text).toContain("cross-instance dispatch");
      expect(await Bun.file(out).text()).not.toMatch(/BASIS_WORKER_AUTH_KEY|BASIS_ORCHESTRATOR_SECRET|postgres:\/\//i);
    },
    120_000,
  );
});
