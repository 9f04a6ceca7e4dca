/**
 * Settings for `basis-canary serve`, read once at start through the env contract
 * (lib/core/env-schema.ts, ORCHESTRATOR_ENV). Only SQLite exists today; asking for PostgreSQL
 * fails at start rather than silently falling back to a store the operator did not choose.
 */
import { type EnvRecord, type EnvValues, ORCHESTRATOR_ENV, readEnv, readEnvVar } from "../core/env-schema.ts";
import { BasisError } from "../core/errors.ts";

export type OrchestratorEnv = EnvValues<typeof ORCHESTRATOR_ENV>;

export interface ServeSettings {
  /** Every ORCHESTRATOR_ENV variable, checked and typed. */
  env: OrchestratorEnv;
  /** --port when given, else PORT, else 8787. */
  port: number;
  store: "sqlite";
  /** BASIS_WORKER_TOKENS split on commas. */
  allowlist: string[];
}

/** Throws a BasisError (exit 2) naming the first bad variable; never quotes a value. */
export function readServeSettings(raw: EnvRecord, portFlag: string | undefined): ServeSettings {
  const env = readEnv(ORCHESTRATOR_ENV, raw);
  const port = portFlag === undefined ? env.PORT : readEnvVar("--port", ORCHESTRATOR_ENV.PORT, portFlag);
  const allowlist = (env.BASIS_WORKER_TOKENS ?? "").split(",").map((t) => t.trim()).filter(Boolean);
  return { env, port, store: resolveStoreDriver(env.BASIS_STORE_DRIVER), allowlist };
}

/** Returns the driver to use; never quotes BASIS_DATABASE_URL, which may carry a password. */
export function resolveStoreDriver(driver: OrchestratorEnv["BASIS_STORE_DRIVER"]): "sqlite" {
  if (driver === "sqlite") return "sqlite";
  throw new BasisError("store_driver_unavailable", "BASIS_STORE_DRIVER=postgres is not implemented yet in this orchestrator.", {
    exitCode: 2,
    hint: "Unset BASIS_STORE_DRIVER and BASIS_DATABASE_URL, and use --data DIR for the durable SQLite store.",
  });
}
