/**
 * The per-user state folder: where `start` leaves a pid file that `stop` finds. Per user, not
 * per system, so no root is needed and two users on one host never see each other's workers.
 */
import { mkdir } from "node:fs/promises";
import { homedir } from "node:os";
import { join, win32 } from "node:path";
import process from "node:process";

export interface StateDirOptions {
  env?: Readonly<Record<string, string | undefined>>;
  platform?: string;
  home?: string;
}

/** `$XDG_STATE_HOME/basis-worker`, else `~/.local/state/basis-worker`; on Windows `%LOCALAPPDATA%\basis-worker`. */
export function resolveStateDir(options: StateDirOptions = {}): string {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const home = options.home ?? homedir();
  if (platform === "win32") {
    return win32.join(env.LOCALAPPDATA || win32.join(home, "AppData", "Local"), "basis-worker");
  }
  // The XDG spec ignores relative paths; so do we.
  const xdg = env.XDG_STATE_HOME;
  if (xdg && xdg.startsWith("/")) return join(xdg, "basis-worker");
  return join(home, ".local", "state", "basis-worker");
}

/** Creates the folder (owner-only) if needed and returns it. */
export async function ensureStateDir(dir: string = resolveStateDir()): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}
