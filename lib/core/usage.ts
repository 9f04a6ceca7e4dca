/**
 * Strict command lines: every flag is checked against the command's declared ones before the
 * command runs, so a typo is a usage error (exit 2) that names the near miss, never a silent
 * default. citty parses leniently (unknown flags pass, a missing value reads as ""), so this is
 * the one place that decides what a command line may hold.
 */
import { BasisError } from "./errors.ts";
import { looksLikeMnemonicWord, MNEMONIC_MIN_WORDS, SECRET_WARNING, secretKind } from "./secrets.ts";

/** The part of a citty argument definition this module reads. */
export interface FlagDef {
  type?: string;
  description?: string;
  valueHint?: string;
  required?: boolean;
  default?: unknown;
}

export type FlagDefs = Readonly<Record<string, FlagDef>>;

/** Flags every command takes (handled by the runner, not the command). */
export const GLOBAL_FLAGS: FlagDefs = {
  help: { type: "boolean" },
  verbose: { type: "boolean" },
};

/** Optimal string alignment distance: a swapped pair of letters (--jsno) counts as one edit. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number) => (d[i] as number[])[j] as number;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(rows - 1, cols - 1);
}

/** The candidate a typo most likely meant: a close spelling, or the one name it starts. */
export function closestName(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  const allowed = lower.length <= 3 ? 1 : 2;
  if (best !== undefined && bestDistance <= allowed) return best;
  const starts = lower.length >= 3 ? candidates.filter((c) => c.toLowerCase().startsWith(lower)) : [];
  return starts.length === 1 ? starts[0] : undefined;
}

/** A usage error: exit 2; the runner adds the command's usage line. */
export function usageError(code: string, message: string, hint?: string): BasisError {
  return new BasisError(code, message, { exitCode: 2, hint: hint ?? "run with --help to see every option." });
}

function didYouMean(suggestion: string | undefined): string | undefined {
  return suggestion ? `did you mean ${suggestion}?` : undefined;
}

/** `--name=<hint>` for a string flag, `--name` for a boolean. */
function describeFlag(name: string, def: FlagDef): string {
  return def.type === "boolean" ? `--${name}` : `--${name} <${def.valueHint ?? name}>`;
}

/** One line: `usage: basis-worker status --worker-id <id> [--json] ...`; required flags bare. */
export function usageLine(commandPath: string, defs: FlagDefs, subCommands: readonly string[] = []): string {
  const parts = Object.entries(defs).map(([name, def]) => (def.required ? describeFlag(name, def) : `[${describeFlag(name, def)}]`));
  if (subCommands.length > 0) parts.unshift(`<${subCommands.join("|")}>`);
  return `usage: ${[commandPath, ...parts].join(" ")}`;
}

/**
 * Checks one command's tokens and returns them normalised to `--name=value` (so the parser
 * downstream cannot read a following flag as a value). Refuses unknown flags, a string flag
 * without its value, a flag given twice, and stray words.
 */
export function checkFlags(tokens: readonly string[], defs: FlagDefs): string[] {
  refusePastedSecrets(tokens);
  const all: FlagDefs = { ...GLOBAL_FLAGS, ...defs };
  const names = Object.keys(all);
  const seen = new Set<string>();
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    if (token === "-h") {
      out.push("--help");
      continue;
    }
    if (!token.startsWith("--") || token === "--") {
      const hint = token.startsWith("-") ? "flags are spelled with two dashes, e.g. --json." : "every value follows its flag, e.g. --worker-id my-gpu-1.";
      throw usageError("usage_unexpected_argument", `Unexpected argument "${printableToken(token)}".`, hint);
    }
    const eq = token.indexOf("=");
    let name = eq === -1 ? token.slice(2) : token.slice(2, eq);
    let def = all[name];
    let negated = false;
    if (!def && name.startsWith("no-") && all[name.slice(3)]?.type === "boolean") {
      name = name.slice(3);
      def = all[name];
      negated = true;
    }
    if (!def) {
      const suggestion = closestName(name, names);
      throw usageError("usage_unknown_flag", `Unknown flag --${printableToken(name)}.`, didYouMean(suggestion && `--${suggestion}`));
    }
    if (seen.has(name)) throw usageError("usage_repeated_flag", `--${name} was given twice.`, "give each flag once.");
    seen.add(name);
    if (def.type === "boolean") {
      const value = eq === -1 ? undefined : token.slice(eq + 1);
      if (value !== undefined && value !== "true" && value !== "false") {
        throw usageError("usage_bad_value", `--${name} is a switch; it takes no value.`, `write --${name} alone.`);
      }
      if (negated && value !== undefined) throw usageError("usage_bad_value", `--no-${name} takes no value.`);
      out.push(negated ? `--no-${name}` : value === "false" ? `--no-${name}` : `--${name}`);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = token.slice(eq + 1);
    else {
      const next = tokens[i + 1];
      if (next !== undefined && !(next.startsWith("--") && next.length > 2) && next !== "-h") {
        value = next;
        i++;
      }
    }
    if (value === undefined || value.trim() === "") {
      throw usageError("usage_missing_value", `--${name} needs a value.`, `write ${describeFlag(name, def)}.`);
    }
    out.push(`--${name}=${value}`);
  }
  return out;
}

/** One argv element can hide a secret as the value of `--flag=value`. */
function argumentParts(arg: string): string[] {
  const equals = arg.indexOf("=");
  return arg.startsWith("-") && equals > 0 ? [arg, arg.slice(equals + 1)] : [arg];
}

/** The index of the first argument that is (or ends) a private key or a seed phrase, if any. */
export function secretArgumentIndex(argv: readonly string[]): number | undefined {
  let wordRun = 0;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] as string;
    // An unquoted seed phrase arrives as 12+ separate lowercase words; no real command line has that.
    wordRun = looksLikeMnemonicWord(arg) ? wordRun + 1 : 0;
    if (argumentParts(arg).some((part) => secretKind(part) !== undefined) || wordRun >= MNEMONIC_MIN_WORDS) return index;
  }
  return undefined;
}

/** A key, or a seed phrase typed unquoted (a run of words), is refused before any word is echoed. */
function refusePastedSecrets(tokens: readonly string[]): void {
  if (secretArgumentIndex(tokens) === undefined) return;
  throw usageError("secret_refused", `Refused an argument: ${SECRET_WARNING}`, "never put a key or phrase on a command line; it stays in your shell history.");
}

/** A refused token is echoed only when it cannot be a secret: short and plain. */
export function printableToken(token: string): string {
  const plain = token.replace(/[^\x20-\x7e]/g, "?").replace(/[0-9a-fA-F]{16,}/g, "…");
  return plain.length > 40 ? `${plain.slice(0, 39)}…` : plain;
}
