import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BasisError } from "../../lib/core/errors.ts";
import { claimPidFile, isProcessAlive, listPidFiles, pidFilePath } from "../../lib/io/pid-file.ts";

const root = mkdtempSync(join(tmpdir(), "basis-pid-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `state-${++n}`);

/** A pid that is certainly gone: a child that has exited and been reaped. */
function deadPid(): number {
  const child = Bun.spawnSync(["true"]);
  return child.pid;
}

describe("claimPidFile", () => {
  test("creates the folder and an owner-only file holding this pid", async () => {
    const dir = freshDir();
    const claim = await claimPidFile(dir, "gpu-1");
    expect(claim.path).toBe(pidFilePath(dir, "gpu-1"));
    expect(readFileSync(claim.path, "utf8").split("\n")[0]).toBe(String(process.pid));
    expect(statSync(claim.path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    claim.release();
    expect(existsSync(claim.path)).toBe(false);
  });

  test("refuses a second claim while the first process runs", async () => {
    const dir = freshDir();
    const claim = await claimPidFile(dir, "gpu-1");
    const error = await claimPidFile(dir, "gpu-1", process.pid + 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BasisError);
    expect((error as BasisError).code).toBe("worker_already_running");
    expect((error as BasisError).hint).toContain("basis-worker stop --worker-id gpu-1");
    claim.release();
  });

  test("replaces a stale file whose process is gone", async () => {
    const dir = freshDir();
    const first = await claimPidFile(dir, "gpu-1", deadPid());
    const second = await claimPidFile(dir, "gpu-1");
    expect(second.path).toBe(first.path);
    expect(readFileSync(second.path, "utf8").split("\n")[0]).toBe(String(process.pid));
    second.release();
  });

  test("replaces a damaged file", async () => {
    const dir = freshDir();
    (await claimPidFile(dir, "x")).release();
    writeFileSync(pidFilePath(dir, "gpu-1"), "not a pid");
    const claim = await claimPidFile(dir, "gpu-1");
    expect(readFileSync(claim.path, "utf8").startsWith(String(process.pid))).toBe(true);
    claim.release();
  });

  test("release leaves alone a file that another process now owns", async () => {
    const dir = freshDir();
    const claim = await claimPidFile(dir, "gpu-1");
    writeFileSync(claim.path, "4242\n");
    claim.release();
    expect(readFileSync(claim.path, "utf8")).toBe("4242\n");
  });
});

describe("listPidFiles", () => {
  test("lists each worker with its pid and whether it runs, sorted by id", async () => {
    const dir = freshDir();
    const live = await claimPidFile(dir, "b-live");
    await claimPidFile(dir, "a-dead", deadPid());
    writeFileSync(join(dir, "notes.txt"), "ignored");
    const entries = await listPidFiles(dir);
    expect(entries.map((e) => [e.workerId, e.alive])).toEqual([
      ["a-dead", false],
      ["b-live", true],
    ]);
    expect(entries[1]?.pid).toBe(process.pid);
    live.release();
  });

  test("a missing folder is an empty list", async () => {
    expect(await listPidFiles(join(root, "nothing-here"))).toEqual([]);
  });
});

describe("isProcessAlive", () => {
  test("true for this process, false for a reaped one", () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(deadPid())).toBe(false);
  });

  test.if(process.platform === "linux")("false when the pid now belongs to a process started at another time", () => {
    expect(isProcessAlive(process.pid, "1")).toBe(false);
  });
});
