/** `basis-canary serve`: settings from flags and env, loud about dev mode, clean on SIGTERM. */
import { writeFile, rename } from "node:fs/promises";
import process from "node:process";
import { BasisError } from "../core/errors.ts";
import { weakKeyWarning } from "../core/token.ts";
import { type LogFormat, logger, setLogFormat } from "../io/logger.ts";
import { DEFAULT_SPOT_CHECK_INTERVAL_MS } from "./spot-checks.ts";
import { parseFirstTokenTimeout, parseHeartbeatWindow, parseSpotCheckInterval, resolveStoreDriver } from "./serve-settings.ts";
import { DEFAULT_QUEUE } from "./model-queue.ts";
import { startOrchestrator } from "./server.ts";

export interface ServeOptions {
  host: string;
  port: string | undefined;
  portFile: string | undefined;
  dataDir: string | undefined;
  logFormat?: string | undefined;
}

/** BASIS_SHUTDOWN_TIMEOUT_MS: how long SIGTERM lets running jobs finish (default 30 s). */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;

function parseLogFormat(value: string | undefined): LogFormat {
  const text = (value ?? process.env.BASIS_LOG_FORMAT ?? "text").trim().toLowerCase();
  if (text === "text" || text === "json") return text;
  throw new BasisError("log_format_unknown", "--log-format must be text or json.", { exitCode: 2 });
}

/** A whole-number setting (milliseconds, or a count for BASIS_QUEUE_MAX); empty means the default. */
function parseMs(name: string, value: string | undefined, fallback: number): number {
  const text = (value ?? "").trim();
  if (text === "") return fallback;
  if (!/^\d{1,9}$/.test(text)) throw new BasisError("setting_malformed", `${name} must be a whole number${name.endsWith("_MS") ? " of milliseconds" : ""}.`, { exitCode: 2 });
  return Number(text);
}

function parsePort(value: string | undefined): number {
  const text = value ?? process.env.PORT ?? "8787";
  if (!/^\d+$/.test(text) || Number(text) > 65535) {
    throw new BasisError("port_malformed", "The port must be a whole number from 0 to 65535.", { exitCode: 2 });
  }
  return Number(text);
}

export async function serveOrchestrator(options: ServeOptions): Promise<void> {
  setLogFormat(parseLogFormat(options.logFormat));
  const log = logger("orchestrator");
  const shutdownMs = parseMs("BASIS_SHUTDOWN_TIMEOUT_MS", process.env.BASIS_SHUTDOWN_TIMEOUT_MS, DEFAULT_SHUTDOWN_TIMEOUT_MS);
  const storeSetting = resolveStoreDriver(process.env);
  const databaseUrl = storeSetting.driver === "postgres" ? storeSetting.databaseUrl : undefined;
  if (databaseUrl && options.dataDir) {
    throw new BasisError("store_driver_mismatch", "--data is for the SQLite store; with BASIS_STORE_DRIVER=postgres the store is the database.", {
      exitCode: 2,
      hint: "Drop --data, or unset BASIS_STORE_DRIVER and BASIS_DATABASE_URL.",
    });
  }
  const heartbeatWindowMs = parseHeartbeatWindow(process.env.BASIS_HEARTBEAT_WINDOW_MS);
  const firstTokenTimeoutMs = parseFirstTokenTimeout(process.env.BASIS_FIRST_TOKEN_TIMEOUT_MS);
  const spotCheckIntervalMs = parseSpotCheckInterval(process.env.BASIS_SPOT_CHECK_INTERVAL_MS, DEFAULT_SPOT_CHECK_INTERVAL_MS);
  const allowlist = (process.env.BASIS_WORKER_TOKENS ?? "").split(",").map((t) => t.trim()).filter(Boolean);
  const orchestrator = await startOrchestrator({
    host: options.host,
    port: parsePort(options.port),
    dataDir: options.dataDir,
    databaseUrl,
    dispatchSecret: process.env.BASIS_ORCHESTRATOR_SECRET || undefined,
    internalApiSecret: process.env.INTERNAL_API_SECRET || undefined,
    policy: { authKey: process.env.BASIS_WORKER_AUTH_KEY || undefined, allowlist },
    log,
    jobTimeoutMs: process.env.BASIS_JOB_TIMEOUT_MS ? Number(process.env.BASIS_JOB_TIMEOUT_MS) : undefined,
    heartbeatWindowMs,
    metricsToken: process.env.BASIS_METRICS_TOKEN || undefined,
    queue: {
      maxPerModel: parseMs("BASIS_QUEUE_MAX", process.env.BASIS_QUEUE_MAX, DEFAULT_QUEUE.maxPerModel),
      timeoutMs: parseMs("BASIS_QUEUE_TIMEOUT_MS", process.env.BASIS_QUEUE_TIMEOUT_MS, DEFAULT_QUEUE.timeoutMs),
    },
    firstTokenTimeoutMs,
    spotCheckIntervalMs,
  }).catch((cause: NodeJS.ErrnoException & { errno?: string }) => {
    if (cause.code === "EADDRINUSE") {
      throw new BasisError("port_in_use", `Port ${options.port ?? process.env.PORT ?? 8787} is already in use.`, { exitCode: 2, hint: "Pick another with --port, or --port 0 for any free one." });
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
  if (options.portFile) {
    const temp = `${options.portFile}.${process.pid}.tmp`;
    await writeFile(temp, String(orchestrator.port));
    await rename(temp, options.portFile);
  }
  log.info(`listening on ${orchestrator.url} (Socket.io for workers, HTTP API); store: ${databaseUrl ? "PostgreSQL (BASIS_DATABASE_URL), clustered with every instance on it" : options.dataDir ? `SQLite in ${options.dataDir}` : "in memory"}`);
  if (orchestrator.devMode) {
    log.warn("DEV MODE: no BASIS_WORKER_AUTH_KEY or BASIS_WORKER_TOKENS set; any worker with the dev token can connect. Do not expose this port.");
  }
  const weak = weakKeyWarning(process.env.BASIS_WORKER_AUTH_KEY);
  if (weak) log.warn(weak);
  if (!process.env.BASIS_ORCHESTRATOR_SECRET) log.warn("no BASIS_ORCHESTRATOR_SECRET: /v1/dispatch is open to anyone who can reach this port");
  let stopping = false;
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
