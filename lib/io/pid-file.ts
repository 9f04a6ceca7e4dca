/**
 * Pid files in the state folder: `<worker-id>.pid` holds the pid of the `start` process that
 * serves that worker, and on Linux its start time, so a pid reused by an unrelated process after
 * a crash is not mistaken for the worker (and never sent a signal).
 */
import { readFileSync, unlinkSync } from "node:fs";
import { readdir, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { BasisError, isBasisError } from "../core/errors.ts";
import { writeFileAtomic } from "./atomic-write.ts";
import { ensureStateDir, resolveStateDir } from "./state-dir.ts";

const SUFFIX = ".pid";

export interface PidFileEntry {
  workerId: string;
  path: string;
  /** Undefined when the file does not hold a pid (half-written or damaged). */
  pid: number | undefined;
  alive: boolean;
}

export interface PidFileClaim {
  path: string;
  /** Removes the file if it is still ours; safe to call twice and from an `exit` handler. */
  release(): void;
}

interface PidFileContent {
  pid: number;
  startTicks: string | undefined;
}

export function pidFilePath(dir: string, workerId: string): string {
  return join(dir, `${workerId}${SUFFIX}`);
}

/**
 * Creates `<dir>/<workerId>.pid` exclusively. A file left by a process that is gone is replaced;
 * one whose process still runs means this worker already runs here: `worker_already_running`.
 */
export async function claimPidFile(dir: string, workerId: string, pid: number = process.pid): Promise<PidFileClaim> {
  await ensureStateDir(dir);
  const path = pidFilePath(dir, workerId);
  const text = `${pid}\n${formatStart(readStartTicks(pid))}`;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createExclusive(path, text)) return { path, release: () => releaseIfOurs(path, pid) };
    const entry = await readEntry(dir, `${workerId}${SUFFIX}`);
    if (entry?.alive) {
      throw new BasisError("worker_already_running", `Worker ${workerId} already runs on this host (pid ${entry.pid}).`, {
        hint: `Stop it first: basis-worker stop --worker-id ${workerId}`,
      });
    }
    await unlink(path).catch(() => undefined);
  }
  throw new BasisError("pid_file_busy", `Could not create ${path}: another process keeps replacing it.`);
}

/**
 * For `start`: claims the pid file and removes it when the process exits. A state folder that
 * cannot be written (a read-only container) only costs `basis-worker stop`, so that is a warning.
 */
export async function holdPidFile(workerId: string, warn: (message: string) => void, dir: string = resolveStateDir()): Promise<void> {
  try {
    const claim = await claimPidFile(dir, workerId);
    process.once("exit", () => claim.release());
  } catch (error) {
    if (isBasisError(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    warn(`cannot write a pid file in ${dir} (${code}); basis-worker stop will not find this worker`);
  }
}

/** Every pid file in the folder, with whether its process still runs. A missing folder is an empty list. */
export async function listPidFiles(dir: string): Promise<PidFileEntry[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const entries = await Promise.all(names.filter((name) => name.endsWith(SUFFIX)).map((name) => readEntry(dir, name)));
  return entries.filter((entry): entry is PidFileEntry => entry !== undefined).sort((a, b) => a.workerId.localeCompare(b.workerId));
}

export async function removePidFile(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}

/** Signal 0 tests existence; on Linux a zombie or a different start time also counts as gone. */
export function isProcessAlive(pid: number, startTicks?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const stat = readProcStat(pid);
  if (stat === undefined) return true;
  if (stat.state === "Z" || stat.state === "X") return false;
  return startTicks === undefined || stat.startTicks === startTicks;
}

async function readEntry(dir: string, name: string): Promise<PidFileEntry | undefined> {
  const path = join(dir, name);
  const text = await readFile(path, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  const content = parseContent(text);
  return {
    workerId: name.slice(0, -SUFFIX.length),
    path,
    pid: content?.pid,
    alive: content ? isProcessAlive(content.pid, content.startTicks) : false,
  };
}

function parseContent(text: string): PidFileContent | undefined {
  const [first, ...rest] = text.split("\n");
  if (!first || !/^\d{1,10}$/.test(first.trim())) return undefined;
  const pid = Number(first.trim());
  if (pid <= 0) return undefined;
  const start = rest.map((line) => /^start (\d+)$/.exec(line.trim())?.[1]).find(Boolean);
  return { pid, startTicks: start };
}

/**
 * Never seen half-written, never replacing another start's file: false when one is there. Where
 * there are no hard links, O_EXCL keeps it exclusive (only briefly empty). Not synced: a pid
 * file need not outlive a power cut.
 */
async function createExclusive(path: string, text: string): Promise<boolean> {
  try {
    await writeFileAtomic(path, text, { mode: 0o600, replace: false, withoutLinks: "exclusive", durable: false });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

function releaseIfOurs(path: string, pid: number): void {
  try {
    if (parseContent(readFileSync(path, "utf8"))?.pid === pid) unlinkSync(path);
  } catch {
    // Already gone, or the folder went away: nothing left to clean.
  }
}

function formatStart(ticks: string | undefined): string {
  return ticks === undefined ? "" : `start ${ticks}\n`;
}

function readStartTicks(pid: number): string | undefined {
  return readProcStat(pid)?.startTicks;
}

/** Fields 3 (state) and 22 (start time in clock ticks) of /proc/<pid>/stat; undefined off Linux. */
function readProcStat(pid: number): { state: string; startTicks: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses; fields after the last ')' are plain.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  const startTicks = fields[19];
  return state && startTicks ? { state, startTicks } : undefined;
}
