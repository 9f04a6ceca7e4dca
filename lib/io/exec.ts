/**
 * Runs an external tool (nvidia-smi, docker, git, ...) and reports what happened as data.
 * A missing binary, a non-zero exit or a hang never throws: detection must finish on any host.
 */
import { spawn } from "node:child_process";
import type { CommandOutput } from "../core/detect/host-facts.ts";

export type { CommandOutput } from "../core/detect/host-facts.ts";

export interface RunCommandOptions {
  /** The child is killed (SIGKILL) and the call resolves once this many ms have passed. */
  timeoutMs: number;
  cwd?: string;
}

export type RunCommand = (cmd: string, args: readonly string[], options: RunCommandOptions) => Promise<CommandOutput>;

/** Output beyond this is dropped: detection reads a few lines, and a runaway tool must not fill memory. */
const MAX_OUTPUT_CHARS = 1024 * 1024;

export function runCommand(cmd: string, args: readonly string[], options: RunCommandOptions): Promise<CommandOutput> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let settled = false;
    const finish = (result: Omit<CommandOutput, "stdout" | "stderr">): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, stdout, stderr });
    };

    let child: ReturnType<typeof spawn>;
    try {
      // Its own process group (POSIX), so a timeout kills whatever the tool started as well.
      child = spawn(cmd, [...args], {
        cwd: options.cwd,
        stdio: ["ignore", "pipe", "pipe"],
        windowsHide: true,
        detached: process.platform !== "win32",
      });
    } catch (error) {
      stderr = describeSpawnError(error);
      resolve({ ok: false, code: null, stdout, stderr, timedOut: false, notFound: isNotFound(error) });
      return;
    }

    // Resolve on the timer itself, not on `close`: a wedged nvidia-smi can sit in the kernel
    // ignoring SIGKILL, and a grandchild can hold the pipes open long after the kill.
    const timer = setTimeout(() => {
      killTree(child);
      finish({ ok: false, code: null, timedOut: true, notFound: false });
    }, options.timeoutMs);

    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      if (stdout.length < MAX_OUTPUT_CHARS) stdout += chunk;
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      if (stderr.length < MAX_OUTPUT_CHARS) stderr += chunk;
    });
    child.on("error", (error) => {
      if (stderr === "") stderr = describeSpawnError(error);
      finish({ ok: false, code: null, timedOut: false, notFound: isNotFound(error) });
    });
    child.on("close", (code) => {
      finish({ ok: code === 0, code, timedOut: false, notFound: false });
    });
  });
}

function killTree(child: ReturnType<typeof spawn>): void {
  try {
    if (child.pid !== undefined && process.platform !== "win32") process.kill(-child.pid, "SIGKILL");
    else child.kill("SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

function describeSpawnError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
