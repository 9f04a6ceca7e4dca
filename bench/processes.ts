/**
 * Child processes the harness owns: output is drained (a full pipe would stall the child and
 * skew every number), kept for diagnosis with secrets redacted, and every child is killed at
 * the end whatever happened.
 */
import { readFileSync } from "node:fs";
import { redact } from "../lib/core/secrets.ts";

export interface BenchChild {
  name: string;
  pid: number;
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** Last 20 kB of stdout+stderr, secrets redacted. */
  output(): string;
  /** Resolves with the first line matching `pattern`, or undefined when the child exits first. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string | undefined>;
  exited: Promise<number>;
}

/** Every live child of this process, so an interrupted run can still kill them all. */
const live = new Set<Bun.Subprocess>();

/** Last resort (watchdog, Ctrl-C): SIGKILL every child still running. */
export function killAllChildren(): void {
  for (const proc of live) proc.kill("SIGKILL");
  live.clear();
}

/** Registers a child spawned outside a ChildGroup (load generator, timed spawns). */
export function track<T extends Bun.Subprocess>(proc: T): T {
  live.add(proc);
  void proc.exited.then(() => live.delete(proc));
  return proc;
}

interface Watcher {
  pattern: RegExp;
  resolve: (line: string | undefined) => void;
}

export class ChildGroup {
  private readonly children: BenchChild[] = [];

  constructor(private readonly secrets: readonly string[]) {}

  spawn(name: string, argv: readonly string[], env: Record<string, string | undefined> = {}): BenchChild {
    const proc = Bun.spawn([...argv], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    track(proc);
    let log = "";
    const watchers = new Set<Watcher>();
    const take = (text: string) => {
      log = (log + text).slice(-20_000);
      for (const line of text.split("\n")) {
        for (const watcher of watchers) {
          if (watcher.pattern.test(line)) {
            watchers.delete(watcher);
            watcher.resolve(line);
          }
        }
      }
    };
    const drain = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) take(decoder.decode(chunk, { stream: true }));
    };
    const drained = Promise.all([drain(proc.stdout), drain(proc.stderr)]);
    const exited = proc.exited.then(async (code) => {
      await drained.catch(() => undefined);
      for (const watcher of watchers) watcher.resolve(undefined);
      watchers.clear();
      return code;
    });
    const child: BenchChild = {
      name,
      pid: proc.pid,
      proc,
      output: () => redact(log, this.secrets),
      exited,
      waitForLine: (pattern, timeoutMs) =>
        new Promise((resolve) => {
          const timer = setTimeout(() => {
            watchers.delete(watcher);
            resolve(undefined);
          }, timeoutMs);
          const watcher: Watcher = {
            pattern,
            resolve: (line) => {
              clearTimeout(timer);
              resolve(line);
            },
          };
          if (proc.exitCode !== null) return watcher.resolve(undefined);
          watchers.add(watcher);
        }),
    };
    this.children.push(child);
    return child;
  }

  async stop(child: BenchChild): Promise<void> {
    if (child.proc.exitCode === null && child.proc.signalCode === null) {
      child.proc.kill("SIGTERM");
      const timer = setTimeout(() => child.proc.kill("SIGKILL"), 3_000);
      await child.exited;
      clearTimeout(timer);
    }
    const index = this.children.indexOf(child);
    if (index >= 0) this.children.splice(index, 1);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.children].map((child) => this.stop(child)));
  }
}

/** Resident set size of a live process, from /proc (Linux); undefined elsewhere. */
export function readRssMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

export async function waitForFile(path: string, child: BenchChild, timeoutMs: number): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const file = Bun.file(path);
    if (await file.exists()) {
      const text = (await file.text()).trim();
      if (text) return text;
    }
    if (child.proc.exitCode !== null) throw new Error(`${child.name} exited (${child.proc.exitCode}): ${lastLines(child.output())}`);
    if (performance.now() > deadline) throw new Error(`${child.name} did not write ${path} within ${timeoutMs} ms`);
    await Bun.sleep(5);
  }
}

export function lastLines(text: string, count = 3): string {
  return text.trim().split("\n").slice(-count).join(" | ").slice(0, 600);
}
