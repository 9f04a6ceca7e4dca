/**
 * One logger for people, on stderr, so stdout stays clean for data (`--json`).
 * Messages are built by callers from public values only (wallet, worker id, counts).
 */
import { createConsola, type ConsolaInstance } from "consola";
import process from "node:process";

let root: ConsolaInstance | undefined;

export function logger(tag: string): ConsolaInstance {
  root ??= createConsola({
    stdout: process.stderr,
    stderr: process.stderr,
    level: process.env.BASIS_LOG_LEVEL === "debug" ? 4 : process.env.BASIS_LOG_LEVEL === "quiet" ? 1 : 3,
    formatOptions: { date: true, colors: process.stderr.isTTY === true },
  });
  return root.withTag(tag);
}
