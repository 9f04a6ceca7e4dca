/** A release folder like `make dist` makes, for the host target only, from the `make build` binaries. */
import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CANARY_BIN, ROOT, WORKER_BIN } from "../helpers/binaries.ts";

export const HOST_TARGET = `${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;
export const EXE = process.platform === "win32" ? ".exe" : "";
export const INSTALL_SH = join(ROOT, "templates", "install.sh");

export function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Copies both host binaries under their release names and writes SHA256SUMS for them. */
export function makeReleaseFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), "basis-release-"));
  const names = [];
  for (const [program, source] of [["basis-worker", WORKER_BIN], ["basis-canary", CANARY_BIN]] as const) {
    const name = `${program}-${HOST_TARGET}${EXE}`;
    copyFileSync(source, join(dir, name));
    names.push(name);
  }
  writeFileSync(join(dir, "SHA256SUMS"), names.map((name) => `${sha256File(join(dir, name))}  ${name}\n`).join(""));
  copyFileSync(INSTALL_SH, join(dir, "install.sh"));
  return dir;
}
