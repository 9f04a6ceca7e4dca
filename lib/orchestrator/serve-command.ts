/** `basis-canary serve`: settings from flags and env, loud about dev mode, clean on SIGTERM. */
import process from "node:process";
import { BasisError } from "../core/errors.ts";
import { weakKeyWarning } from "../core/token.ts";
import { writeFileAtomic } from "../io/atomic-write.ts";
import { logger, setLogFormat } from "../io/logger.ts";
import { readServeSettings } from "./serve-settings.ts";
import { startOrchestrator } from "./server.ts";

export interface ServeOptions {
  host: string;
  port: string | undefined;
  portFile: string | undefined;
  dataDir: string | undefined;
  logFormat?: string | undefined;
}

export async function serveOrchestrator(options: ServeOptions): Promise<void> {
  const { env, port, allowlist, store, logFormat } = readServeSettings(process.env, options.port, options.logFormat);
  setLogFormat(logFormat);
  const log = logger("orchestrator");
  const databaseUrl = store.driver === "postgres" ? store.databaseUrl : undefined;
  if (databaseUrl && options.dataDir) {
    throw new BasisError("store_driver_mismatch", "--data is for the SQLite store; with BASIS_STORE_DRIVER=postgres the store is the database.", {
      exitCode: 2,
      hint: "Drop --data, or unset BASIS_STORE_DRIVER and BASIS_DATABASE_URL.",
    });
  }
  const orchestrator = await startOrchestrator({
    host: options.host,
    port,
    dataDir: options.dataDir,
    storeSync: env.BASIS_STORE_SYNC,
    databaseUrl,
    dispatchSecret: env.BASIS_ORCHESTRATOR_SECRET,
    internalApiSecret: env.INTERNAL_API_SECRET,
    policy: { authKey: env.BASIS_WORKER_AUTH_KEY, allowlist },
    log,
    jobTimeoutMs: env.BASIS_JOB_TIMEOUT_MS,
    heartbeatWindowMs: env.BASIS_HEARTBEAT_WINDOW_MS,
    metricsToken: env.BASIS_METRICS_TOKEN,
    queue: { maxPerModel: env.BASIS_QUEUE_MAX, timeoutMs: env.BASIS_QUEUE_TIMEOUT_MS },
    firstTokenTimeoutMs: env.BASIS_FIRST_TOKEN_TIMEOUT_MS,
    spotCheckIntervalMs: env.BASIS_SPOT_CHECK_INTERVAL_MS,
  }).catch((cause: NodeJS.ErrnoException & { errno?: string }) => {
    if (cause.code === "EADDRINUSE") {
      throw new BasisError("port_in_use", `Port ${port} is already in use.`, { exitCode: 2, hint: "Pick another with --port, or --port 0 for any free one." });
    }
    if (databaseUrl && !(cause instanceof BasisError)) {
      // The driver's message may quote the URL (and its password): say what failed, never that.
      throw new BasisError("database_unreachable", "Could not open the PostgreSQL store at BASIS_DATABASE_URL.", {
        exitCode: 1,
        hint: `Check that the database is up and the URL's host, port, user, password and database name are right (${cause.code ?? cause.errno ?? "no error code"}).`,
      });
    }
    throw cause;
  });
  if (options.portFile) await writeFileAtomic(options.portFile, String(orchestrator.port), { mode: 0o644, replace: true, durable: false });
  log.info(`listening on ${orchestrator.url} (Socket.io for workers, HTTP API); store: ${databaseUrl ? "PostgreSQL (BASIS_DATABASE_URL), clustered with every instance on it" : options.dataDir ? `SQLite in ${options.dataDir}` : "in memory"}`);
  if (orchestrator.devMode) {
    log.warn("DEV MODE: no BASIS_WORKER_AUTH_KEY or BASIS_WORKER_TOKENS set; any worker with the dev token can connect. Do not expose this port.");
  }
  const weak = weakKeyWarning(env.BASIS_WORKER_AUTH_KEY);
  if (weak) log.warn(weak);
  if (!env.BASIS_ORCHESTRATOR_SECRET) log.warn("no BASIS_ORCHESTRATOR_SECRET: /v1/dispatch is open to anyone who can reach this port");
  let stopping = false;
  const shutdownMs = env.BASIS_SHUTDOWN_TIMEOUT_MS;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log.info(`stopping: new dispatches get 503 with Retry-After; running jobs have up to ${shutdownMs} ms`);
    const { unfinished } = await orchestrator.shutdown(shutdownMs);
    log.info(`stopped${unfinished ? ` (${unfinished} request(s) cut off at the limit)` : ""}; store flushed`);
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

export { weakKeyWarning } from "../core/token.ts";
