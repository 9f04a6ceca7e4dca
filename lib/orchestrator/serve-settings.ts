/**
 * Settings for `basis-canary serve`, read once at start through the env contract
 * (lib/core/env-schema.ts, ORCHESTRATOR_ENV). A bad store setting fails at start rather than
 * silently falling back to a store the operator did not choose.
 */
import { type EnvRecord, type EnvValues, ORCHESTRATOR_ENV, readEnv, readEnvVar } from "../core/env-schema.ts";
import { BasisError } from "../core/errors.ts";

export type OrchestratorEnv = EnvValues<typeof ORCHESTRATOR_ENV>;

export type StoreSetting = { driver: "sqlite" } | { driver: "postgres"; databaseUrl: string };

export interface ServeSettings {
  /** Every ORCHESTRATOR_ENV variable, checked and typed. */
  env: OrchestratorEnv;
  /** --port when given, else PORT, else 8787. */
  port: number;
  store: StoreSetting;
  /** BASIS_WORKER_TOKENS split on commas. */
  allowlist: string[];
  /** --log-format when given, else BASIS_LOG_FORMAT. */
  logFormat: OrchestratorEnv["BASIS_LOG_FORMAT"];
}

/** Throws a BasisError (exit 2) naming the first bad variable; never quotes a value. */
export function readServeSettings(raw: EnvRecord, portFlag: string | undefined, logFormatFlag?: string): ServeSettings {
  const env = readEnv(ORCHESTRATOR_ENV, raw);
  const port = portFlag === undefined ? env.PORT : readEnvVar("--port", ORCHESTRATOR_ENV.PORT, portFlag);
  const logFormat = logFormatFlag === undefined ? env.BASIS_LOG_FORMAT : readEnvVar("--log-format", ORCHESTRATOR_ENV.BASIS_LOG_FORMAT, logFormatFlag);
  const allowlist = (env.BASIS_WORKER_TOKENS ?? "").split(",").map((t) => t.trim()).filter(Boolean);
  return { env, port, store: resolveStoreDriver(env), allowlist, logFormat };
}

/** The store to open, from the two variables together; never quotes BASIS_DATABASE_URL, which may carry a password. */
export function resolveStoreDriver(env: Pick<OrchestratorEnv, "BASIS_STORE_DRIVER" | "BASIS_DATABASE_URL">): StoreSetting {
  const url = env.BASIS_DATABASE_URL ?? "";
  if (env.BASIS_STORE_DRIVER === "sqlite") {
    if (url !== "") {
      throw new BasisError("store_driver_mismatch", "BASIS_DATABASE_URL is set but BASIS_STORE_DRIVER is not postgres.", {
        exitCode: 2,
        hint: "Set BASIS_STORE_DRIVER=postgres to use that database, or unset BASIS_DATABASE_URL to use SQLite.",
      });
    }
    return { driver: "sqlite" };
  }
  if (!/^postgres(ql)?:\/\/[^\s]+$/i.test(url)) {
    throw new BasisError("database_url_malformed", "BASIS_STORE_DRIVER=postgres needs BASIS_DATABASE_URL as postgres://user:password@host:port/database.", {
      exitCode: 2,
      hint: "Set BASIS_DATABASE_URL (it is never printed), or unset BASIS_STORE_DRIVER to use SQLite.",
    });
  }
  return { driver: "postgres", databaseUrl: url };
}
