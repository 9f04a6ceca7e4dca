/**
 * `basis-worker start`: config from env, runtime check, token, connect, serve; SIGINT/SIGTERM
 * drain in-flight jobs and disconnect cleanly before exiting 0.
 */
import { hostname } from "node:os";
import process from "node:process";
import type { ConsolaInstance } from "consola";
// The client's browser build: it speaks through the runtime's built-in WebSocket (Bun and Deno
// both have one), where the Node build loads ws, an XHR shim and debug for about 7 MB more.
import sio from "socket.io-client/dist/socket.io.js";
import { BasisError } from "../core/errors.ts";
import { resolveWorkerToken, tokenWallet } from "../core/token.ts";
import { readWorkerConfig, type WorkerConfig } from "../core/worker-config.ts";
import { loadWorkerEnv } from "../io/env-source.ts";
import { holdPidFile } from "../io/pid-file.ts";
import { logger } from "../io/logger.ts";
import { VERSION } from "../version.ts";
import { pullModelFirst } from "./pull-model.ts";
import { createRuntime } from "./runtimes/create-runtime.ts";
import type { Runtime } from "./runtimes/runtime.ts";
import { Worker } from "./worker.ts";

export interface StartWorkerOptions {
  envFile: string | undefined;
  /** Ollama: pull the model before serving. */
  pull?: boolean;
}

/** The worker as `start` runs it (credentials, connection, timings); `setup --check` reuses it for one handshake. */
export async function createWorker(config: WorkerConfig, runtime: Runtime, log: ConsolaInstance): Promise<Worker> {
  const { token, source } = await resolveWorkerToken({ wallet: config.wallet, token: config.token, authKey: config.authKey });
  // The token never crosses the wire, so the orchestrator cannot say it names another wallet: we do.
  const boundTo = tokenWallet(token);
  if (boundTo !== undefined && boundTo !== config.wallet.toLowerCase()) {
    throw new BasisError("token_bound_to_other_wallet", `BASIS_WORKER_TOKEN is bound to wallet ${boundTo}, not ${config.wallet}.`, {
      exitCode: 2,
      hint: "Set BASIS_WORKER_WALLET to the wallet the token was minted for, or ask the operator for a token for this wallet (basis-canary token --wallet).",
    });
  }
  if (source === "dev") log.warn("no BASIS_WORKER_TOKEN or BASIS_WORKER_AUTH_KEY: using the dev token (only a dev-mode orchestrator accepts it)");
  else log.info(`auth: ${source === "token" ? "BASIS_WORKER_TOKEN" : "wallet-bound token from BASIS_WORKER_AUTH_KEY"}`);
  return new Worker({
    config,
    runtime,
    token,
    log,
    connect: (url, opts) => sio(url, opts),
    version: VERSION,
    heartbeatMs: config.timings.heartbeatMs,
    drainTimeoutMs: config.timings.drainTimeoutMs,
    healthPollMs: config.timings.healthPollMs,
    // Loaded on the first failure only: a healthy start never pays for it.
    diagnose: (url) => import("../io/orchestrator-probe.ts").then(({ probeOrchestrator }) => probeOrchestrator(url)).then((probe) => probe.failure),
  });
}

export async function startWorker(options: StartWorkerOptions): Promise<void> {
  const log = logger("worker");
  const loaded = await loadWorkerEnv(options.envFile);
  if (loaded.looseMode) {
    log.warn(`${options.envFile} has mode ${loaded.looseMode}; it may hold secrets: run chmod 600 ${options.envFile}`);
  }
  const config = readWorkerConfig(loaded.env, hostname());
  // Before any slow step, so a second start of the same id fails at once; `stop` reads it.
  await holdPidFile(config.workerId, (message) => log.warn(message));
  const runtime = await createRuntime(config, {
    firstTokenTimeoutMs: config.timings.firstTokenTimeoutMs,
    totalTimeoutMs: config.timings.jobTimeoutMs,
  });
  if (options.pull) await pullModelFirst(runtime, config.backend.model ?? "", log);
  await runtime.check();
  for (const note of runtime.startNotes?.(config.concurrency) ?? []) log[note.level](note.message);
  const worker = await createWorker(config, runtime, log);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      // A second signal while draining: the operator wants out now.
      log.warn(`${signal} again: stopping now; ${worker.state.active} in-flight job(s) cut off`);
      process.exit(1);
    }
    stopping = true;
    log.info(`${signal}: no new jobs; draining`);
    const { unfinished } = await worker.drain();
    log.info(unfinished ? `stopped; ${unfinished} job(s) were cut off at the drain limit` : "stopped cleanly");
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  await worker.start();
}
