/**
 * Is a path inside a git work tree, and would git ignore it? Setup warns before writing a
 * worker .env that a later `git add .` would commit. No git, or no repository, means "not in a repo".
 */
import { stat } from "node:fs/promises";
import { dirname, relative, resolve } from "node:path";
import { type RunCommand, runCommand } from "./exec.ts";

export interface CheckGitIgnoredOptions {
  exec?: RunCommand;
  /** The git binary; tests point it at a missing one. */
  git?: string;
  timeoutMs?: number;
}

export interface GitIgnoredResult {
  inRepo: boolean;
  ignored: boolean;
}

export async function checkGitIgnored(path: string, options: CheckGitIgnoredOptions = {}): Promise<GitIgnoredResult> {
  const exec = options.exec ?? runCommand;
  const git = options.git ?? "git";
  const timeoutMs = options.timeoutMs ?? 3000;
  const target = resolve(path);
  // Run from the nearest existing folder of the path so git finds the repository holding it.
  const cwd = await findExistingFolder(dirname(target));
  if (cwd === undefined) return { inRepo: false, ignored: false };

  const inside = await exec(git, ["rev-parse", "--is-inside-work-tree"], { timeoutMs, cwd });
  if (!inside.ok || inside.stdout.trim() !== "true") return { inRepo: false, ignored: false };
  // A relative name avoids "outside repository" errors when cwd reaches the repo through a symlink.
  const check = await exec(git, ["check-ignore", "-q", "--", relative(cwd, target)], { timeoutMs, cwd });
  return { inRepo: true, ignored: check.code === 0 };
}

async function findExistingFolder(start: string): Promise<string | undefined> {
  for (let folder = start; ; folder = dirname(folder)) {
    if ((await stat(folder).catch(() => undefined))?.isDirectory()) return folder;
    if (dirname(folder) === folder) return undefined;
  }
}
