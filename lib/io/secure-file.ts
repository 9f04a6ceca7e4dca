/**
 * Writes a file that holds (or will hold) secrets: readable by its owner only from the first
 * byte, replaced atomically, never left half-written. The worker .env is written this way.
 */
import { randomBytes } from "node:crypto";
import { chmod, link, lstat, open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { BasisError, isBasisError } from "../core/errors.ts";

export interface WriteFileAtomicPrivateOptions {
  /** Replace an existing file. Without it an existing target is an `out_exists` error. */
  force?: boolean;
}

const PRIVATE_MODE = 0o600;

export async function writeFileAtomicPrivate(
  path: string,
  text: string,
  options: WriteFileAtomicPrivateOptions = {},
): Promise<void> {
  const target = resolve(path);
  const folder = dirname(target);
  await requireFolder(folder, path);
  if (!options.force && (await exists(target))) throw refuseOverwrite(path);

  const temp = join(folder, `.${basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writePrivate(temp, text);
    if (options.force) await rename(temp, target);
    else await linkWithoutOverwrite(temp, target, path);
    await syncFolder(folder);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    if (isBasisError(error)) throw error;
    throw new BasisError("out_write_failed", `Could not write ${path}: ${describeCode(error)}.`, {
      cause: error,
      hint: "Check that the folder is writable and that the path is not a folder.",
    });
  }
}

/** 'wx' with mode 0600 creates the file private whatever the umask; chmod covers filesystems that ignore mode. */
async function writePrivate(temp: string, text: string): Promise<void> {
  const handle = await open(temp, "wx", PRIVATE_MODE);
  try {
    await handle.chmod(PRIVATE_MODE);
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(temp, PRIVATE_MODE);
}

/**
 * link() fails if the target appeared since the check, so a file another process just created
 * is never replaced. Filesystems without hard links fall back to rename after the check.
 */
async function linkWithoutOverwrite(temp: string, target: string, shown: string): Promise<void> {
  try {
    await link(temp, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw refuseOverwrite(shown);
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EXDEV") throw error;
    await rename(temp, target);
    return;
  }
  await unlink(temp);
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

/** Makes the rename durable across a power cut; not every platform can open a folder, so best effort. */
async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, "r").catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => undefined);
  await handle.close();
}

function describeCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (error instanceof Error ? error.message : "unknown error");
}
