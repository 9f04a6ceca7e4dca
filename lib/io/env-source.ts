/** The worker's environment: the process env, plus an --env-file whose values fill the gaps. */
import { readFile, stat } from "node:fs/promises";
import process from "node:process";
import { BasisError } from "../core/errors.ts";
import { parseDotenv } from "../core/dotenv.ts";

export interface LoadedEnv {
  env: Record<string, string | undefined>;
  /** Set when the env file is readable by group or others (it may hold secrets). */
  looseMode?: string;
}

export async function loadWorkerEnv(envFile: string | undefined): Promise<LoadedEnv> {
  const base: Record<string, string | undefined> = { ...process.env };
  if (!envFile) return { env: base };
  let text: string;
  let mode: number;
  try {
    [text, mode] = await Promise.all([readFile(envFile, "utf8"), stat(envFile).then((s) => s.mode)]);
  } catch (cause) {
    throw unreadable(envFile, (cause as NodeJS.ErrnoException).code);
  }
  const fromFile = parseDotenv(text, envFile);
  // Variables already in the environment win, as with dotenv, docker and systemd overrides.
  const env = { ...fromFile, ...Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined && v !== "")) };
  const loose = process.platform !== "win32" && (mode & 0o077) !== 0;
  return loose ? { env, looseMode: (mode & 0o777).toString(8) } : { env };
}

function unreadable(envFile: string, code: string | undefined): BasisError {
  if (code === "ENOENT") {
    return new BasisError("env_file_missing", `Cannot read the env file ${envFile}: there is no such file.`, {
      exitCode: 2,
      hint: "Write one with: basis-worker setup --write-env --wallet 0x... --runtime echo --orchestrator ws://host:8787 --out ./worker.env",
    });
  }
  if (code === "EISDIR") {
    return new BasisError("env_file_is_directory", `The env file ${envFile} is a directory, not a file.`, {
      exitCode: 2,
      hint: "Pass the file itself, e.g. --env-file ./worker.env.",
    });
  }
  if (code === "EACCES" || code === "EPERM") {
    return new BasisError("env_file_unreadable", `Cannot read the env file ${envFile}: permission denied.`, {
      exitCode: 2,
      hint: "Run as the user that owns it (it is mode 0600), or check its permissions with ls -l.",
    });
  }
  return new BasisError("env_file_unreadable", `Cannot read the env file ${envFile}${code ? ` (${code})` : ""}.`, { exitCode: 2 });
}
