/**
 * valibot issues in words: the one place that turns a failed parse into a path and a message.
 * By path and rule only, never by the received value: a field might hold something that must
 * not be echoed (a key pasted in the wrong place).
 */
import type * as v from "valibot";

export interface SchemaProblem {
  /** Where the problem is, e.g. `models[0].prompt_credits_per_1m`; "" for the whole value. */
  path: string;
  message: string;
}

/**
 * A path of keys as text. "brackets": `models[0].name` (our messages); "dotted": `messages.0.content`
 * (the `param` of an OpenAI-style error).
 */
export function formatKeyPath(keys: readonly unknown[], style: "brackets" | "dotted" = "brackets"): string {
  if (style === "dotted") return keys.map(String).join(".");
  let out = "";
  for (const key of keys) out += typeof key === "number" ? `[${key}]` : out === "" ? String(key) : `.${String(key)}`;
  return out;
}

/** Where an issue is; "" for the whole value (or no issue). */
export function issuePath(issue: v.BaseIssue<unknown> | undefined, style: "brackets" | "dotted" = "brackets"): string {
  return formatKeyPath((issue?.path ?? []).map((item) => (item as { key: unknown }).key), style);
}

/** One issue as path and message; object issues get plain words (unknown field, required, not an object). */
export function describeIssue(issue: v.BaseIssue<unknown>, style: "brackets" | "dotted" = "brackets"): SchemaProblem {
  const path = issuePath(issue, style);
  const isObjectIssue = issue.type === "object" || issue.type === "strict_object";
  let message = issue.message;
  if (isObjectIssue && issue.expected === "never") message = "is not a known field";
  else if (isObjectIssue && issue.received === "undefined" && issue.expected?.startsWith('"')) message = "is required";
  else if (isObjectIssue) message = "must be a JSON object";
  return { path, message };
}

export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): SchemaProblem[] {
  return issues.map((issue) => describeIssue(issue));
}

/** The first issue as one line: `path: message` (or the message alone for the whole value). */
export function firstIssueText(issues: readonly v.BaseIssue<unknown>[], style: "brackets" | "dotted" = "brackets", fallback = "invalid value"): { path: string; text: string } {
  const issue = issues[0];
  const path = issuePath(issue, style);
  const message = issue?.message ?? fallback;
  return { path, text: path ? `${path}: ${message}` : message };
}
