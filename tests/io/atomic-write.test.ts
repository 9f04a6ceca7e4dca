import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../../lib/io/atomic-write.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), "basis-atomic-"));
  dirs.push(dir);
  return dir;
}
const codeOf = (promise: Promise<unknown>) => promise.then(() => "ok", (error: NodeJS.ErrnoException) => error.code);

describe("writeFileAtomic", () => {
  test.each([[0o600], [0o644]])("writes the text with mode %o whatever the umask, and leaves no temp file", async (mode) => {
    const dir = folder();
    const previous = process.umask(0o000);
    try {
      await writeFileAtomic(join(dir, "f"), "hello", { mode, replace: false });
    } finally {
      process.umask(previous);
    }
    expect(readFileSync(join(dir, "f"), "utf8")).toBe("hello");
    expect(statSync(join(dir, "f")).mode & 0o777).toBe(mode);
    expect(readdirSync(dir)).toEqual(["f"]);
  });

  test("without replace an existing file is EEXIST and stays as it was", async () => {
    const dir = folder();
    writeFileSync(join(dir, "f"), "before");
    expect(await codeOf(writeFileAtomic(join(dir, "f"), "after", { mode: 0o600, replace: false }))).toBe("EEXIST");
    expect(readFileSync(join(dir, "f"), "utf8")).toBe("before");
    expect(readdirSync(dir)).toEqual(["f"]);
  });

  test("with replace the file is replaced whole", async () => {
    const dir = folder();
    writeFileSync(join(dir, "f"), "before, and longer than after");
    await writeFileAtomic(join(dir, "f"), "after", { mode: 0o600, replace: true, durable: false });
    expect(readFileSync(join(dir, "f"), "utf8")).toBe("after");
    expect(readdirSync(dir)).toEqual(["f"]);
  });

  test("a missing folder fails with the file system's code and writes nothing", async () => {
    const dir = folder();
    expect(await codeOf(writeFileAtomic(join(dir, "nope", "f"), "x", { mode: 0o600, replace: true }))).toBe("ENOENT");
    expect(readdirSync(dir)).toEqual([]);
  });
});
