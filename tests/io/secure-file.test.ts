import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomicPrivate } from "../../lib/io/secure-file.ts";
import { rejectionOf } from "../helpers/errors.ts";

let folder: string;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), "basis-secure-file-"));
});
afterEach(() => {
  rmSync(folder, { recursive: true, force: true });
});

describe("writeFileAtomicPrivate", () => {
  test("writes the text with mode 0600 even under a permissive umask", async () => {
    const target = join(folder, "worker.env");
    const previous = process.umask(0);
    try {
      await writeFileAtomicPrivate(target, "BASIS_WORKER_RUNTIME=echo\n");
    } finally {
      process.umask(previous);
    }
    expect(readFileSync(target, "utf8")).toBe("BASIS_WORKER_RUNTIME=echo\n");
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readdirSync(folder)).toEqual(["worker.env"]);
  });

  test("refuses to replace an existing file without force and leaves it untouched", async () => {
    const target = join(folder, "worker.env");
    writeFileSync(target, "KEEP=1\n", { mode: 0o644 });
    const error = await rejectionOf(writeFileAtomicPrivate(target, "NEW=1\n"));
    expect(error).toMatchObject({ code: "out_exists", exitCode: 2 });
    expect(error.hint).toContain("--force");
    expect(readFileSync(target, "utf8")).toBe("KEEP=1\n");
    expect(statSync(target).mode & 0o777).toBe(0o644);
    expect(readdirSync(folder)).toEqual(["worker.env"]);
  });

  test("replaces an existing file with force, making it private", async () => {
    const target = join(folder, "worker.env");
    writeFileSync(target, "OLD=1\n", { mode: 0o644 });
    await writeFileAtomicPrivate(target, "NEW=1\n", { force: true });
    expect(readFileSync(target, "utf8")).toBe("NEW=1\n");
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readdirSync(folder)).toEqual(["worker.env"]);
  });

  test("gives a clear error for a missing folder", async () => {
    const target = join(folder, "no-such-dir", "worker.env");
    const error = await rejectionOf(writeFileAtomicPrivate(target, "A=1\n"));
    expect(error).toMatchObject({ code: "out_dir_missing", exitCode: 2 });
    expect(error.hint).toContain("mkdir -p");
    expect(readdirSync(folder)).toEqual([]);
  });

  test("leaves no temp file behind when the final step fails", async () => {
    mkdirSync(join(folder, "worker.env"));
    writeFileSync(join(folder, "worker.env", "inside"), "x");
    const error = await rejectionOf(writeFileAtomicPrivate(join(folder, "worker.env"), "A=1\n", { force: true }));
    expect(error.code).toBe("out_write_failed");
    expect(readdirSync(folder)).toEqual(["worker.env"]);
  });

  test("never puts the file's content in an error message", async () => {
    const target = join(folder, "worker.env");
    writeFileSync(target, "");
    const error = await rejectionOf(writeFileAtomicPrivate(target, "CONTENT_MARKER=abc\n"));
    expect(`${error.message} ${error.hint}`).not.toContain("CONTENT_MARKER");
  });
});
