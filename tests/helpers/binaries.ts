/** Paths to the compiled binaries (built by `make build`, which `make test` runs first). */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
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

let stateHome: string | undefined;

/**
 * The environment a test gives a binary: no inherited BASIS_* settings, no colours, and a state
 * folder (XDG_STATE_HOME: pid files) of this test process's own, so a worker id used here never
 * meets one from another test run on the same host.
 */
export function binaryEnv(extra: Record<string, string> = {}): Record<string, string> {
  if (!stateHome) {
    const dir = mkdtempSync(join(tmpdir(), "basis-test-state-"));
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
    stateHome = dir;
  }
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BASIS_"))) as Record<string, string>;
  return { ...base, NO_COLOR: "1", XDG_STATE_HOME: stateHome, ...extra };
}

/** Runs a binary to completion with binaryEnv(env). */
export async function run(argv: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<RunResult> {
  const proc = Bun.spawn(argv, { env: binaryEnv(env), stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

export interface OutputWatch {
  /** Everything read so far. */
  text(): string;
  /** Resolves with the first line matching `pattern` (already read or still to come); rejects when the stream ends without one. */
  waitFor(pattern: RegExp, what: string): Promise<string>;
  /** The whole output once the stream ends. */
  done: Promise<string>;
}

/** Reads a child's stdout or stderr as it comes, so a test waits on a log line instead of a guessed delay. */
export function watchOutput(stream: ReadableStream<Uint8Array>): OutputWatch {
  let text = "";
  let ended = false;
  const waiters = new Set<{ pattern: RegExp; what: string; resolve: (line: string) => void; reject: (error: Error) => void }>();
  const settle = () => {
    for (const waiter of waiters) {
      const line = text.split("\n").find((l) => waiter.pattern.test(l));
      if (line !== undefined) {
        waiters.delete(waiter);
        waiter.resolve(line);
      } else if (ended) {
        waiters.delete(waiter);
        waiter.reject(new Error(`the output ended without ${waiter.what}`));
      }
    }
  };
  const done = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      settle();
    }
    ended = true;
    settle();
    return text;
  })();
  return {
    text: () => text,
    waitFor: (pattern, what) =>
      new Promise((resolve, reject) => {
        waiters.add({ pattern, what, resolve, reject });
        settle();
      }),
    done,
  };
}
