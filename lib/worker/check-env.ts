/**
 * `setup --check --env-file`: the rest of what `start` needs, checked from the worker's env
 * file before it runs: the settings parse, the Basis API answers (and knows this worker), the
 * backend serves the configured model, and the orchestrator answers the handshake and accepts
 * this worker's credentials.
 */
import { createConsola } from "consola/core";
import { hostname } from "node:os";
import { isBasisError } from "../core/errors.ts";
import { describeUrl } from "../core/public-url.ts";
import { readWorkerConfig, type WorkerConfig } from "../core/worker-config.ts";
import { createBasisApi, resolveBaseUrl } from "../io/basis-api.ts";
import { loadWorkerEnv } from "../io/env-source.ts";
import { probeOrchestrator } from "../io/orchestrator-probe.ts";
import { createRuntime } from "./runtimes/create-runtime.ts";
import type { Runtime } from "./runtimes/runtime.ts";
import { createWorker } from "./start-worker.ts";

export interface EnvCheck {
  name: "Settings" | "Basis API" | "Registration" | "Backend" | "Orchestrator";
  ok: boolean;
  detail: string;
}

const HANDSHAKE_TIMEOUT_MS = 8_000;

function describeError(error: unknown): string {
  if (!isBasisError(error)) return error instanceof Error ? error.message.slice(0, 200) : "failed";
  return error.hint ? `${error.message} ${error.hint}` : error.message;
}

export async function checkWorkerEnv(envFile: string): Promise<EnvCheck[]> {
  const checks: EnvCheck[] = [];
  let config: WorkerConfig;
  let env: Record<string, string | undefined>;
  try {
    const loaded = await loadWorkerEnv(envFile);
    env = loaded.env;
    config = readWorkerConfig(env, hostname());
    const mode = loaded.looseMode ? `; WARNING: mode ${loaded.looseMode}, run chmod 600 ${envFile}` : "";
    checks.push({ name: "Settings", ok: true, detail: `worker ${config.workerId}, runtime ${config.runtime}, models ${config.models.join(", ")}${mode}` });
  } catch (error) {
    checks.push({ name: "Settings", ok: false, detail: describeError(error) });
    return checks;
  }

  const online = await checkApi(config, env, envFile, checks);
  const runtime = await createRuntime(config);
  try {
    await runtime.check();
    checks.push({ name: "Backend", ok: true, detail: config.runtime === "echo" ? "echo needs no backend" : `${config.runtime} at ${describeUrl(config.backend.url)} serves ${config.backend.model}` });
  } catch (error) {
    checks.push({ name: "Backend", ok: false, detail: describeError(error) });
  }
  checks.push(await checkOrchestrator(config, runtime, online));
  return checks;
}

/** Returns whether the API sees the worker online (then a test handshake would only displace it). */
async function checkApi(config: WorkerConfig, env: Record<string, string | undefined>, envFile: string, checks: EnvCheck[]): Promise<boolean> {
  let base: string;
  try {
    base = resolveBaseUrl(undefined, env.BASIS_BASE_URL);
    const api = createBasisApi({ base, tries: 1, timeoutMs: 3_000 });
    await api.getOnboarding();
    checks.push({ name: "Basis API", ok: true, detail: `answers at ${describeUrl(base)}` });
    const worker = await api.getWorker(config.workerId);
    checks.push({ name: "Registration", ok: true, detail: `${config.workerId} is registered to ${worker.worker_wallet ?? "a wallet"}` });
    return worker.online === true;
  } catch (error) {
    const registration = isBasisError(error) && error.code === "worker_not_found";
    checks.push(
      registration
        ? { name: "Registration", ok: false, detail: `${config.workerId} is not registered: run basis-worker register --env-file ${envFile}` }
        : { name: "Basis API", ok: false, detail: describeError(error) },
    );
    return false;
  }
}

async function checkOrchestrator(config: WorkerConfig, runtime: Runtime, online: boolean): Promise<EnvCheck> {
  // Every instance listed (a cluster, comma-separated) must answer.
  const urls = config.orchestratorUrl.split(",");
  const where = urls.map(describeUrl).join(", ");
  for (const url of urls) {
    const probe = await probeOrchestrator(url);
    if (!probe.answers) return { name: "Orchestrator", ok: false, detail: `${describeUrl(url)}: ${probe.failure?.cause ?? "no answer"}` };
  }
  if (online) return { name: "Orchestrator", ok: true, detail: `${where} answers; worker ${config.workerId} is online there now, so its credentials work` };
  // One real handshake with this worker's credentials, then a clean goodbye.
  const worker = await createWorker(config, runtime, createConsola({ level: 0 }));
  let refused: unknown;
  worker.start().catch((error: unknown) => {
    refused = error;
  });
  const until = Date.now() + HANDSHAKE_TIMEOUT_MS;
  while (!worker.state.connected && refused === undefined && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
  const connected = worker.state.connected;
  await worker.drain();
  if (connected) return { name: "Orchestrator", ok: true, detail: `${where} accepted worker ${config.workerId} (handshake done, then disconnected)` };
  if (refused !== undefined) return { name: "Orchestrator", ok: false, detail: describeError(refused) };
  return { name: "Orchestrator", ok: false, detail: `${where} answers over HTTP but did not complete the Socket.io handshake in ${HANDSHAKE_TIMEOUT_MS / 1000} s` };
}
