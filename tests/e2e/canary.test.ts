import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { CANARY_BIN, requireBinaries, run, WORKER_BIN } from "../helpers/binaries.ts";

requireBinaries();

describe("basis-canary (compiled)", () => {
  test("proves all five steps, ends with the summary line, and leaves nothing behind", async () => {
    const state = mkdtempSync(join(tmpdir(), "basis-canary-state-"));
    const before = readdirSync(tmpdir()).filter((name) => name.startsWith("basis-canary-") && name !== basename(state));
    const result = await run([CANARY_BIN], { XDG_STATE_HOME: state });
    expect(result.code).toBe(0);
    // No pid file in the operator's state dir, no temp folder of its own left over.
    expect(readdirSync(state)).toEqual([]);
    const after = readdirSync(tmpdir()).filter((name) => name.startsWith("basis-canary-") && name !== basename(state));
    expect(after.filter((name) => !before.includes(name))).toEqual([]);
    rmSync(state, { recursive: true, force: true });
    const lines = result.stdout.trim().split("\n");
    expect(lines.filter((l) => l.startsWith("PASS "))).toHaveLength(5);
    expect(lines.at(-1)).toBe("5 passed, 0 failed");
  }, 60_000);

  test("--json prints a report with every proof", async () => {
    const result = await run([CANARY_BIN, "--json", "--worker-bin", WORKER_BIN]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { passed: number; failed: number; proofs: { ok: boolean; name: string }[] };
    expect(report.passed).toBe(5);
    expect(report.failed).toBe(0);
    expect(report.proofs.map((p) => p.ok)).toEqual([true, true, true, true, true]);
  }, 60_000);

  test("fails every proof, cleanly, when the worker binary cannot run", async () => {
    const result = await run([CANARY_BIN, "--worker-bin", "/bin/false"]);
    expect(result.code).toBe(1);
    expect(result.stdout.trim().split("\n").at(-1)).toMatch(/^\d passed, [1-5] failed$/);
  }, 60_000);

  test("a missing worker binary is a clear usage error", async () => {
    const result = await run([CANARY_BIN, "--worker-bin", "/nonexistent/basis-worker"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("worker_bin_missing");
  });

  test("basis-worker canary runs the sibling canary and passes its exit code", async () => {
    const result = await run([WORKER_BIN, "canary"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("5 passed, 0 failed");
  }, 60_000);
});
