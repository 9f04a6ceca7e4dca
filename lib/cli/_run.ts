/**
 * The one error handler and the one printer. Errors print message + hint on stderr and set the
 * exit code; the stack shows only with --verbose. `--json` data goes to stdout, nothing else does.
 */
import process from "node:process";
import { type CommandDef, runCommand, showUsage } from "citty";
import { BasisError } from "../core/errors.ts";

/** Data for scripts and agents: one JSON document on stdout. */
export function print(data: unknown): void {
  process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
}

/** Text for people on stdout (tables, results); logs go through the logger on stderr. */
export function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

async function resolveSub(cmd: CommandDef, rawArgs: string[]): Promise<[CommandDef, CommandDef | undefined]> {
  let current: CommandDef = cmd;
  let parent: CommandDef | undefined;
  for (const arg of rawArgs) {
    if (arg.startsWith("-")) continue;
    const subs = typeof current.subCommands === "function" ? await current.subCommands() : await current.subCommands;
    const next = subs?.[arg];
    if (!next) break;
    parent = current;
    current = typeof next === "function" ? await next() : await next;
  }
  return [current, parent];
}

// citty types each command by its own args; the handler takes any of them.
export async function runCli(main: CommandDef<any>, rawArgs: string[]): Promise<void> {
  const verbose = rawArgs.includes("--verbose");
  const json = rawArgs.includes("--json");
  try {
    if (rawArgs.includes("--help") || rawArgs.includes("-h")) {
      await showUsage(...(await resolveSub(main, rawArgs)));
      return;
    }
    await runCommand(main, { rawArgs: rawArgs.filter((a) => a !== "--verbose") });
  } catch (error) {
    process.exitCode = reportError(error, { verbose, json });
  }
}

export function reportError(error: unknown, { verbose, json }: { verbose: boolean; json: boolean }): number {
  if (error instanceof BasisError) {
    if (json) print(error.toJSON());
    process.stderr.write(`error [${error.code}]: ${error.message}\n`);
    if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
    if (verbose && error.stack) process.stderr.write(`${error.stack}\n`);
    return error.exitCode;
  }
  // citty's argument errors (unknown command, missing required flag) are bad input.
  const code = (error as { code?: string } | undefined)?.code;
  if (typeof code === "string" && code.startsWith("E_")) {
    if (json) print({ error: "usage", message: (error as Error).message });
    process.stderr.write(`error [usage]: ${(error as Error).message}\nhint: run with --help to see the options.\n`);
    return 2;
  }
  if (json) print({ error: "internal_error", message: "Unexpected failure; rerun with --verbose." });
  process.stderr.write(`error [internal_error]: ${error instanceof Error ? error.message : String(error)}\n`);
  if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return 1;
}
