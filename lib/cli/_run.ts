/**
 * The one error handler and the one printer. Errors print message + hint on stderr and set the
 * exit code; the stack shows only with --verbose. `--json` data goes to stdout, nothing else does.
 * Output goes through console.log/error: in Bun, process.stdout/stderr build Node streams on
 * first use (about 7 ms of every start).
 *
 * The command line is checked here, strictly, before a command runs (lib/core/usage.ts): an
 * unknown command or flag, a flag without its value or a stray word exits 2 with the
 * command's usage line and, for a near miss, "did you mean".
 */
import process from "node:process";
import { type CommandDef, renderUsage, runCommand } from "citty";
import { BasisError } from "../core/errors.ts";
import { SECRET_WARNING } from "../core/secrets.ts";
import { checkFlags, closestName, type FlagDefs, printableToken, secretArgumentIndex, usageError, usageLine } from "../core/usage.ts";
import { COMMIT, TARGET, VERSION, versionLine } from "../version.ts";

/** Data for scripts and agents: one JSON document on stdout. */
export function print(data: unknown): void {
  console.log(JSON.stringify(data, null, 2));
}

/** Text for people on stdout (tables, results); logs go through the logger on stderr. */
export function say(text: string): void {
  console.log(text);
}

/** `basis-worker 0.1.0 (commit …, target …)`, or the same facts as JSON. */
export function printVersion(program: string, json: boolean): void {
  if (json) print({ name: program, version: VERSION, commit: COMMIT, target: TARGET });
  else say(versionLine(program));
}

const resolve = async <T>(value: T | Promise<T> | (() => T | Promise<T>)): Promise<T> =>
  typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;

interface Resolved {
  cmd: CommandDef<any>;
  parent: CommandDef<any> | undefined;
  /** "basis-worker price publish" */
  path: string;
  /** The tokens that belong to `cmd` (after its name). */
  tokens: string[];
  defs: FlagDefs;
  subNames: string[];
  /** The sub-command names as typed (a default sub-command is not typed). */
  named: string[];
}

/** Walks the command tree along the words of the command line, as citty will. */
async function resolveCommand(main: CommandDef<any>, rawArgs: readonly string[]): Promise<Resolved> {
  let cmd = main;
  let parent: CommandDef<any> | undefined;
  let path = String((await resolve(main.meta))?.name ?? "");
  let rest = [...rawArgs];
  const named: string[] = [];
  for (;;) {
    const defs = ((await resolve(cmd.args)) ?? {}) as FlagDefs;
    const subs = await resolve(cmd.subCommands);
    const subNames = subs ? Object.keys(subs) : [];
    const here: Resolved = { cmd, parent, path, tokens: rest, defs, subNames, named };
    if (!subs || subNames.length === 0) return here;
    // The first word that is not a flag (or a flag's value) names the sub-command.
    let index = -1;
    for (let i = 0; i < rest.length; i++) {
      const token = rest[i] as string;
      if (!token.startsWith("-")) {
        index = i;
        break;
      }
      const name = token.replace(/^-+/, "").split("=")[0] as string;
      if (!token.includes("=") && defs[name] && defs[name].type !== "boolean") i++;
    }
    const fallback = await resolve(cmd.default);
    const askingHelp = rest.includes("--help") || rest.includes("-h");
    if (index === -1 && (!fallback || askingHelp)) return here;
    const name = index === -1 ? (fallback as string) : (rest[index] as string);
    const next = subs[name];
    if (!next) {
      // A key or phrase typed where a command goes is refused before a word of it is echoed.
      if (secretArgumentIndex(rest) !== undefined) throw usageError("secret_refused", `Refused an argument: ${SECRET_WARNING}`);
      const suggestion = closestName(name, subNames);
      throw Object.assign(
        usageError("usage_unknown_command", `Unknown command "${printableToken(name)}".`, suggestion ? `did you mean ${path} ${suggestion}?` : `the commands are: ${subNames.join(", ")}.`),
        { usage: usageLine(path, {}, subNames) },
      );
    }
    const before = index === -1 ? [] : rest.slice(0, index);
    if (before.some((token) => token !== "--verbose")) {
      // Flags before a sub-command's name would be lost: citty hands the sub-command only what follows it.
      throw Object.assign(usageError("usage_flag_position", `Flags go after the command's name: ${path} ${name} --flag ...`), {
        usage: usageLine(path, {}, subNames),
      });
    }
    parent = cmd;
    cmd = await resolve(next as CommandDef<any>);
    path = `${path} ${name}`;
    if (index !== -1) named.push(name);
    rest = index === -1 ? rest : rest.slice(index + 1);
  }
}

// citty types each command by its own args; the handler takes any of them.
export async function runCli(main: CommandDef<any>, rawArgs: string[]): Promise<void> {
  const verbose = rawArgs.includes("--verbose");
  const json = rawArgs.includes("--json");
  const program = String((await resolve(main.meta))?.name ?? "");
  const rootSubs = await resolve(main.subCommands);
  let usage: string | undefined = usageLine(program, {}, rootSubs ? Object.keys(rootSubs) : []);
  try {
    if (rawArgs[0] === "--version" || rawArgs[0] === "-v") {
      checkFlags(rawArgs.slice(1), { json: { type: "boolean" } });
      printVersion(program, json);
      return;
    }
    const resolved = await resolveCommand(main, rawArgs);
    usage = usageLine(resolved.path, resolved.defs, resolved.subNames);
    if (resolved.tokens.includes("--help") || resolved.tokens.includes("-h")) {
      await showHelp(resolved.cmd, resolved.parent);
      return;
    }
    if (resolved.subNames.length > 0 && !resolved.cmd.run) {
      // A bare group (or no arguments at all): show what it offers.
      checkFlags(resolved.tokens, resolved.defs);
      await showHelp(resolved.cmd, resolved.parent);
      return;
    }
    // A command may refuse secrets on its command line with its own code (price publish).
    await (resolved.cmd as { refuseArgv?: (argv: readonly string[]) => Promise<void> }).refuseArgv?.(resolved.tokens);
    const checked = checkFlags(resolved.tokens, resolved.defs).filter((a) => a !== "--verbose");
    await runCommand(main, { rawArgs: [...resolved.named, ...checked] });
  } catch (error) {
    const own = (error as { usage?: string } | undefined)?.usage;
    process.exitCode = reportError(error, { verbose, json, usage: own ?? usage });
  }
}

export function reportError(error: unknown, { verbose, json, usage }: { verbose: boolean; json: boolean; usage?: string | undefined }): number {
  if (error instanceof BasisError) {
    const showUsageLine = error.exitCode === 2 && usage !== undefined;
    if (json) print({ ...error.toJSON(), ...(showUsageLine ? { usage } : {}) });
    console.error(`error [${error.code}]: ${error.message}`);
    if (error.hint) console.error(`hint: ${error.hint}`);
    if (showUsageLine) console.error(usage);
    if (verbose && error.stack) console.error(error.stack);
    return error.exitCode;
  }
  // citty's own argument errors, should one get past the strict check above, are bad input.
  const code = (error as { code?: string } | undefined)?.code;
  if (typeof code === "string" && (code.startsWith("E_") || code === "EARG")) {
    const message = (error as Error).message.replace(/\u001b\[[0-9;]*m/g, "");
    return reportError(usageError("usage", message), { verbose, json, usage });
  }
  if (json) print({ error: "internal_error", message: "Unexpected failure; rerun with --verbose." });
  console.error(`error [internal_error]: ${error instanceof Error ? error.message : String(error)}`);
  if (verbose && error instanceof Error && error.stack) console.error(error.stack);
  return 1;
}

/** citty's help text; colour only on a terminal, and never with NO_COLOR. */
async function showHelp(cmd: CommandDef<any>, parent: CommandDef<any> | undefined): Promise<void> {
  let text = await renderUsage(cmd, parent);
  // A command that reads variables lists them: `environment` rides on the command object, as
  // rows or as a loader (the env schema pulls in the wallet checksum, too heavy for every start).
  type Rows = readonly (readonly [string, string])[];
  const listed = (cmd as { environment?: Rows | (() => Promise<Rows>) }).environment;
  const environment = typeof listed === "function" ? await listed() : listed;
  if (environment && environment.length > 0) {
    const width = Math.max(...environment.map(([name]) => name.length)) + 2;
    text += `\n\nENVIRONMENT\n\n${environment.map(([name, about]) => `  ${name.padEnd(width)}${about}`).join("\n")}`;
  }
  const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
  say(`${colour ? text : text.replace(/\u001b\[[0-9;]*m/g, "")}\n`);
}
