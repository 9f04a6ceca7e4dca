import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { runCommand } from "../../lib/io/exec.ts";
import { waitUntil } from "../helpers/harness.ts";

describe("runCommand", () => {
  test("captures stdout, stderr and a zero exit code", async () => {
    const result = await runCommand("sh", ["-c", "echo out; echo err >&2"], { timeoutMs: 5000 });
    expect(result).toEqual({ ok: true, code: 0, stdout: "out\n", stderr: "err\n", timedOut: false, notFound: false });
  });

  test("reports a non-zero exit code without throwing", async () => {
    const result = await runCommand("sh", ["-c", "exit 9"], { timeoutMs: 5000 });
    expect(result).toMatchObject({ ok: false, code: 9, timedOut: false, notFound: false });
  });

  test("reports a missing binary as notFound", async () => {
    const result = await runCommand("basis-no-such-tool-7f3a", ["--version"], { timeoutMs: 5000 });
    expect(result).toMatchObject({ ok: false, code: null, notFound: true, timedOut: false });
  });

  // The commands would run for a minute: resolving within the test's own timeout proves the kill.
  test("kills a command that outlives its timeout and resolves promptly", async () => {
    const result = await runCommand("sleep", ["60"], { timeoutMs: 200 });
    expect(result).toMatchObject({ ok: false, code: null, timedOut: true, notFound: false });
  });

  test("on timeout also kills what the command started", async () => {
    const result = await runCommand("sh", ["-c", "sleep 60 & echo $!; wait"], { timeoutMs: 300 });
    expect(result.timedOut).toBe(true);
    const grandchild = Number(result.stdout.trim());
    expect(grandchild).toBeGreaterThan(0);
    await waitUntil("the grandchild gone", () => !isAlive(grandchild), 20_000);
  });

  test("runs in the given working directory", async () => {
    const result = await runCommand("pwd", [], { timeoutMs: 5000, cwd: "/" });
    expect(result.stdout.trim()).toBe("/");
  });
});

/** A killed process whose parent is gone may linger as a zombie until init reaps it: that counts as dead. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (!existsSync("/proc")) return true;
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}
