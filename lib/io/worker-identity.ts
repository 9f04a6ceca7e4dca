/**
 * One worker identity across the flow: `register`, `status`, `healthcheck`, `price publish`
 * and `stop` read the worker id and the API base from the same --env-file `start` runs on,
 * so every command talks about the worker that actually runs. Flags win; then the process
 * environment (as for `start`); then the file. A blank BASIS_WORKER_ID in the file means what
 * `start` makes of it: the id derived from this host's name.
 */
import { hostname } from "node:os";
import { defaultWorkerId, parseWorkerId } from "../core/worker-id.ts";
import { usageError } from "../core/usage.ts";
import { resolveBaseUrl } from "./basis-api.ts";
import { loadWorkerEnv } from "./env-source.ts";

export interface IdentityFlags {
  "worker-id"?: string | undefined;
  base?: string | undefined;
  "env-file"?: string | undefined;
}

export interface WorkerIdentity {
  /** Undefined only when the caller allowed it (`needId: false`) and nothing named one. */
  workerId: string | undefined;
  base: string;
  /** The merged environment (process env over the file), for commands that need more of it. */
  env: Record<string, string | undefined>;
}

export async function resolveIdentity(command: string, flags: IdentityFlags, needId = true): Promise<WorkerIdentity> {
  const envFile = flags["env-file"];
  const { env } = await loadWorkerEnv(envFile);
  const fromEnv = env.BASIS_WORKER_ID?.trim() || (envFile ? defaultWorkerId(hostname()) : undefined);
  const raw = flags["worker-id"] ?? fromEnv;
  if (raw === undefined && needId) {
    throw usageError(
      "usage_missing_flag",
      `${command} needs --worker-id (or --env-file with the worker's settings).`,
      `e.g. basis-worker ${command} --env-file ./worker.env, or --worker-id my-gpu-1.`,
    );
  }
  return {
    workerId: raw === undefined ? undefined : parseWorkerId(raw),
    base: resolveBaseUrl(flags.base, env.BASIS_BASE_URL),
    env,
  };
}
