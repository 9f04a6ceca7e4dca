/**
 * The one way this project puts a file in place: written in full to a temp file in the target's
 * folder with its final mode from the first byte, synced, then moved into place in one step, so
 * no reader ever sees it half-written and a failure leaves nothing behind. Used by the worker
 * .env (0600), the systemd unit (0644), pid files (0600) and `serve --port-file`.
 *
 * Errors are the file system's own (`EEXIST`, `EACCES`, ...): each caller words them for its
 * reader. The temp file is removed on every path.
 */
import { randomBytes } from "node:crypto";
import { chmod, link, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export interface AtomicWriteOptions {
  /** The file's mode, set whatever the umask (0o600 for secrets, 0o644 for files others read). */
  mode: number;
  /**
   * true: replace an existing target (rename). false: never replace; an existing target fails
   * with EEXIST, even one that appeared since the caller looked (the file is hard-linked into place).
   */
  replace: boolean;
  /**
   * What to do where the file system has no hard links and `replace` is false:
   * "rename" moves the file into place (another writer racing in the same instant could be
   * replaced); "exclusive" creates the target itself with O_EXCL (never replaces, but is
   * briefly empty). Default "rename".
   */
  withoutLinks?: "rename" | "exclusive";
  /** Sync the file and its folder so it survives a power cut (default true; a pid file need not). */
  durable?: boolean;
}

/** Codes link() gives where the file system (or the mount) has no hard links. */
const NO_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "EXDEV"]);

export async function writeFileAtomic(path: string, text: string, options: AtomicWriteOptions): Promise<void> {
  const folder = dirname(path);
  const temp = join(folder, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const durable = options.durable ?? true;
    await writeNew(temp, text, options.mode, durable);
    if (options.replace) await rename(temp, path);
    else await linkIntoPlace(temp, path, text, options);
    if (durable) await syncFolder(folder);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** 'wx' creates it with the mode from the first byte; chmod covers the umask and file systems that ignore mode. */
async function writeNew(path: string, text: string, mode: number, durable: boolean): Promise<void> {
  const handle = await open(path, "wx", mode);
  try {
    await handle.chmod(mode);
    await handle.writeFile(text, "utf8");
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(path, mode);
}

async function linkIntoPlace(temp: string, path: string, text: string, options: AtomicWriteOptions): Promise<void> {
  try {
    await link(temp, path);
  } catch (error) {
    if (!NO_LINKS.has((error as NodeJS.ErrnoException).code ?? "")) throw error;
    if (options.withoutLinks === "exclusive") await writeNew(path, text, options.mode, options.durable ?? true);
    else await rename(temp, path);
  }
}

/** Makes the rename durable across a power cut; not every platform can open a folder, so best effort. */
async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, "r").catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => undefined);
  await handle.close();
}
