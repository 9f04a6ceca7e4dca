/** Paths to the compiled binaries (built by `make build`, which `make test` runs first). */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "../..");
export const WORKER_BIN = join(ROOT, "dist", "basis-worker");
export const CANARY_BIN = join(ROOT, "dist", "basis-canary");

export function requireBinaries(): void {
  for (const bin of [WORKER_BIN, CANARY_BIN]) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`make build\` (make test does it first)`);
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a binary to completion with a clean environment (no inherited BASIS_* settings). */
export async function run(argv: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<RunResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BASIS_"))) as Record<string, string>;
  const proc = Bun.spawn(argv, { env: { ...base, NO_COLOR: "1", ...env }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}
