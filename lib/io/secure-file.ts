/**
 * Writes a file that holds (or will hold) secrets: readable by its owner only from the first
 * byte, replaced atomically, never left half-written. The worker .env is written this way.
 */
import { lstat, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { BasisError } from "../core/errors.ts";
import { writeFileAtomic } from "./atomic-write.ts";

export interface WriteFileAtomicPrivateOptions {
  /** Replace an existing file. Without it an existing target is an `out_exists` error. */
  force?: boolean;
}

export async function writeFileAtomicPrivate(
  path: string,
  text: string,
  options: WriteFileAtomicPrivateOptions = {},
): Promise<void> {
  const target = resolve(path);
  await requireFolder(dirname(target), path);
  if (!options.force && (await exists(target))) throw refuseOverwrite(path);
  try {
    await writeFileAtomic(target, text, { mode: 0o600, replace: options.force === true });
  } catch (error) {
    // link() fails if the target appeared since the check: a file another process just created is never replaced.
    if ((error as NodeJS.ErrnoException).code === "EEXIST") throw refuseOverwrite(path);
    throw new BasisError("out_write_failed", `Could not write ${path}: ${describeCode(error)}.`, {
      cause: error,
      hint: "Check that the folder is writable and that the path is not a folder.",
    });
  }
}

async function requireFolder(folder: string, shown: string): Promise<void> {
  const stats = await stat(folder).catch(() => undefined);
  if (!stats?.isDirectory()) {
    throw new BasisError("out_dir_missing", `The folder for ${shown} does not exist (${folder}).`, {
      exitCode: 2,
      hint: `Create it first (mkdir -p ${folder}) or choose another --out.`,
    });
  }
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

function refuseOverwrite(shown: string): BasisError {
  return new BasisError("out_exists", `${shown} already exists; it was left unchanged.`, {
    exitCode: 2,
    hint: "Pass --force to replace it, or choose another --out.",
  });
}

function describeCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (error instanceof Error ? error.message : "unknown error");
}
