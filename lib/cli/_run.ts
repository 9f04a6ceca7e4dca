/**
 * The one error handler and the one printer. Errors print message + hint on stderr and set the
 * exit code; the stack shows only with --verbose. `--json` data goes to stdout, nothing else does.
 * Output goes through console.log/error: in Bun, process.stdout/stderr build Node streams on
 * first use (about 7 ms of every start).
 */
import process from "node:process";
import { type CommandDef, runCommand, showUsage } from "citty";
import { BasisError } from "../core/errors.ts";

/** Data for scripts and agents: one JSON document on stdout. */
export function print(data: unknown): void {
  console.log(JSON.stringify(data, null, 2));
}

/** Text for people on stdout (tables, results); logs go through the logger on stderr. */
export function say(text: string): void {
  console.log(text);
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
    console.error(`error [${error.code}]: ${error.message}`);
    if (error.hint) console.error(`hint: ${error.hint}`);
    if (verbose && error.stack) console.error(error.stack);
    return error.exitCode;
  }
  // citty's argument errors (unknown command, missing required flag) are bad input.
  const code = (error as { code?: string } | undefined)?.code;
  if (typeof code === "string" && code.startsWith("E_")) {
    if (json) print({ error: "usage", message: (error as Error).message });
    console.error(`error [usage]: ${(error as Error).message}\nhint: run with --help to see the options.`);
    return 2;
  }
  if (json) print({ error: "internal_error", message: "Unexpected failure; rerun with --verbose." });
  console.error(`error [internal_error]: ${error instanceof Error ? error.message : String(error)}`);
  if (verbose && error instanceof Error && error.stack) console.error(error.stack);
  return 1;
}
