/**
 * `basis-canary serve --help` lists every variable the orchestrator reads. The list is held to
 * the code: every `env.NAME` / `process.env.NAME` read under lib/orchestrator must be in it.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { CANARY_BIN, requireBinaries, ROOT, run, WORKER_BIN } from "../helpers/binaries.ts";

requireBinaries();

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : [];
  });
}

function variablesRead(): string[] {
  const names = new Set<string>();
  for (const file of sources(join(ROOT, "lib/orchestrator"))) {
    for (const match of readFileSync(file, "utf8").matchAll(/\benv(?:\.|\[["'])([A-Z][A-Z0-9_]{2,})/g)) names.add(match[1] as string);
  }
  return [...names].sort();
}

describe("basis-canary serve --help", () => {
  test("lists every variable the orchestrator reads, and the logger's level", async () => {
    const read = variablesRead();
    expect(read).toContain("BASIS_WORKER_AUTH_KEY");
    const result = await run([CANARY_BIN, "serve", "--help"]);
    expect(result.code).toBe(0);
    const section = result.stdout.slice(result.stdout.indexOf("ENVIRONMENT"));
    expect(section.length).toBeGreaterThan(20);
    for (const name of [...read, "BASIS_LOG_LEVEL"]) expect(section).toMatch(new RegExp(`^  ${name}\\s`, "m"));
  });

  test("a weak BASIS_WORKER_AUTH_KEY gets a warning at start; a 32-byte one does not", async () => {
    const { weakKeyWarning } = await import("../../lib/orchestrator/serve-command.ts");
    expect(weakKeyWarning("x")).toContain("only 1 byte(s)");
    expect(weakKeyWarning("x".repeat(31))).toContain("at least 32");
    expect(weakKeyWarning("x".repeat(32))).toBeUndefined();
    expect(weakKeyWarning(undefined)).toBeUndefined();
    expect(weakKeyWarning("x")).not.toContain("x x");
  });
});

describe("basis-worker start --help", () => {
  test("lists every BASIS_* variable the worker's code names", async () => {
    const files = [...sources(join(ROOT, "lib/worker")), join(ROOT, "lib/core/worker-config.ts")];
    const named = new Set(files.flatMap((file) => [...readFileSync(file, "utf8").matchAll(/\b(BASIS_[A-Z0-9_]+)/g)].map((m) => m[1] as string)));
    expect(named.size).toBeGreaterThan(15);
    const result = await run([WORKER_BIN, "start", "--help"]);
    expect(result.code).toBe(0);
    const section = result.stdout.slice(result.stdout.indexOf("ENVIRONMENT"));
    for (const name of [...named, "BASIS_LOG_LEVEL"]) expect(section).toMatch(new RegExp(`^  ${name}\\s`, "m"));
  });
});
