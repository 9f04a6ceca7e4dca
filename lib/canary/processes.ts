/**
 * Child processes the canary owns: output kept (redacted) for diagnosis, every one killed on
 * cleanup, whether the canary passes, fails or is interrupted.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { redact } from "../core/secrets.ts";

export interface Child {
  name: string;
  process: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

export class ProcessGroup {
  private readonly children: Child[] = [];

  constructor(private readonly secrets: readonly string[]) {}

  spawn(name: string, argv: readonly string[], env: Record<string, string | undefined>): Child {
    const [cmd, ...args] = argv as [string, ...string[]];
    const proc = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    const keep = (data: Buffer) => {
      log = (log + data.toString("utf8")).slice(-20_000);
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    const exited = new Promise<number | null>((resolve) => {
      proc.on("exit", (code, signal) => resolve(code ?? (signal ? null : 1)));
      proc.on("error", () => resolve(127));
    });
    const child: Child = { name, process: proc, output: () => redact(log, this.secrets), exited };
    this.children.push(child);
    return child;
  }

  async killAll(): Promise<void> {
    await Promise.all(
      this.children.map(async (child) => {
        if (child.process.exitCode !== null || child.process.signalCode !== null) return;
        child.process.kill("SIGTERM");
        const timer = setTimeout(() => child.process.kill("SIGKILL"), 3_000);
        await child.exited;
        clearTimeout(timer);
      }),
    );
  }
}

/** Resolves with the exit code, or "timeout" if the child is still running after `ms`. */
export async function waitExit(child: Child, ms: number): Promise<number | null | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  const result = await Promise.race([child.exited, timeout]);
  clearTimeout(timer);
  return result;
}
