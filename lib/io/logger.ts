/**
 * One logger for people, on stderr, so stdout stays clean for data (`--json`).
 * Messages are built by callers from public values only (wallet, worker id, counts).
 *
 * consola's core with a plain one-line reporter: the full consola build pulls in Node's util
 * and tty layers (about 14 MB of resident memory in a compiled Bun binary) for fancy output a
 * long-running worker does not need.
 */
import { type ConsolaInstance, type ConsolaReporter, createConsola, type LogObject } from "consola/core";
import process from "node:process";
import { readEnvVar, WORKER_ENV } from "../core/env-schema.ts";

const LABELS: Record<string, string> = { success: "ok ", warn: "WARN ", error: "ERROR ", fatal: "FATAL ", debug: "debug ", trace: "trace " };

function isFields(arg: unknown): arg is Record<string, unknown> {
  return typeof arg === "object" && arg !== null && Object.getPrototypeOf(arg) === Object.prototype;
}

function formatArg(arg: unknown): string {
  if (typeof arg === "string") return arg;
  if (arg instanceof Error) return arg.message;
  // Structured fields (a job line) read as key=value pairs.
  if (isFields(arg)) return Object.entries(arg).map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`).join(" ");
  try {
    return JSON.stringify(arg);
  } catch {
    return String(arg);
  }
}

/** `2026-11-25T12:00:00.000Z [worker] WARN message`: one line a record, easy to grep and ship. */
export function formatLogLine(record: Pick<LogObject, "date" | "tag" | "type" | "args">): string {
  const tag = record.tag ? `[${record.tag}] ` : "";
  return `${record.date.toISOString()} ${tag}${LABELS[record.type] ?? ""}${record.args.map(formatArg).join(" ")}`;
}

/** `{"time","level","tag","msg",...fields}`: one JSON object a line, for log shippers. */
export function formatJsonLogLine(record: Pick<LogObject, "date" | "tag" | "type" | "args">): string {
  const fields = Object.assign({}, ...record.args.filter(isFields)) as Record<string, unknown>;
  const msg = record.args.filter((arg) => !isFields(arg)).map(formatArg).join(" ");
  return JSON.stringify({ time: record.date.toISOString(), level: record.type, ...(record.tag ? { tag: record.tag } : {}), msg, ...fields });
}

export type LogFormat = "text" | "json";
let format: LogFormat = "text";

/** `--log-format json`: every later line is one JSON object. */
export function setLogFormat(next: LogFormat): void {
  format = next;
}

const lineReporter: ConsolaReporter = {
  log(record) {
    // console.error, not process.stderr: the latter loads Node streams, a cost at every start.
    console.error(format === "json" ? formatJsonLogLine(record) : formatLogLine(record));
  },
};

let root: ConsolaInstance | undefined;

export function logger(tag: string): ConsolaInstance {
  if (!root) {
    const level = readEnvVar("BASIS_LOG_LEVEL", WORKER_ENV.BASIS_LOG_LEVEL, process.env.BASIS_LOG_LEVEL);
    root = createConsola({ reporters: [lineReporter], level: level === "debug" ? 4 : level === "quiet" ? 1 : 3 });
  }
  return root.withTag(tag);
}
