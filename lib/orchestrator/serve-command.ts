/** `basis-canary serve`: settings from flags and env, loud about dev mode, clean on SIGTERM. */
import { writeFile, rename } from "node:fs/promises";
import process from "node:process";
import { BasisError } from "../core/errors.ts";
import { logger } from "../io/logger.ts";
import { readServeSettings } from "./serve-settings.ts";
import { startOrchestrator } from "./server.ts";

export interface ServeOptions {
  host: string;
  port: string | undefined;
  portFile: string | undefined;
  dataDir: string | undefined;
}

export async function serveOrchestrator(options: ServeOptions): Promise<void> {
  const log = logger("orchestrator");
  const { env, port, allowlist } = readServeSettings(process.env, options.port);
  const orchestrator = await startOrchestrator({
    host: options.host,
    port,
    dataDir: options.dataDir,
    dispatchSecret: env.BASIS_ORCHESTRATOR_SECRET,
    internalApiSecret: env.INTERNAL_API_SECRET,
    policy: { authKey: env.BASIS_WORKER_AUTH_KEY, allowlist },
    log,
    jobTimeoutMs: env.BASIS_JOB_TIMEOUT_MS,
    heartbeatWindowMs: env.BASIS_HEARTBEAT_WINDOW_MS,
  }).catch((cause: NodeJS.ErrnoException) => {
    if (cause.code === "EADDRINUSE") {
      throw new BasisError("port_in_use", `Port ${port} is already in use.`, { exitCode: 2, hint: "Pick another with --port, or --port 0 for any free one." });
    }
    throw cause;
  });
  if (options.portFile) {
    const temp = `${options.portFile}.${process.pid}.tmp`;
    await writeFile(temp, String(orchestrator.port));
    await rename(temp, options.portFile);
  }
  log.info(`listening on ${orchestrator.url} (Socket.io for workers, HTTP API); store: ${options.dataDir ? `SQLite in ${options.dataDir}` : "in memory"}`);
  if (orchestrator.devMode) {
    log.warn("DEV MODE: no BASIS_WORKER_AUTH_KEY or BASIS_WORKER_TOKENS set; any worker with the dev token can connect. Do not expose this port.");
  }
  if (!env.BASIS_ORCHESTRATOR_SECRET) log.warn("no BASIS_ORCHESTRATOR_SECRET: /v1/dispatch is open to anyone who can reach this port");
  const stop = async () => {
    await orchestrator.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}
