/** Shared test harness: an in-process orchestrator on 127.0.0.1:0 and in-process workers. */
import { type ConsolaInstance, createConsola } from "consola";
import { io } from "socket.io-client";
import { BasisError } from "../../lib/core/errors.ts";
import type { InferenceRequest } from "../../lib/core/protocol.ts";
import { resolveWorkerToken, type TokenPolicy } from "../../lib/core/token.ts";
import { readWorkerConfig } from "../../lib/core/worker-config.ts";
import type { QueueSettings } from "../../lib/orchestrator/model-queue.ts";
import { type Orchestrator, startOrchestrator } from "../../lib/orchestrator/server.ts";
import { DEFAULT_TRUST, type TrustSettings } from "../../lib/orchestrator/sessions.ts";
import { EchoRuntime } from "../../lib/worker/runtimes/echo.ts";
import type { RunOptions, RunResult, Runtime } from "../../lib/worker/runtimes/runtime.ts";
import { Worker } from "../../lib/worker/worker.ts";

export const quietLog = createConsola({ level: -999 });
export const WALLET = "0x52908400098527886e0f7030069857d2e4169ee7";

/**
 * No cooldown after a setback (capacity still halves), so a test that makes a worker fail on
 * purpose can send it the next job at once; tests of the cooldown pass their own settings.
 */
export const NO_COOLDOWN: TrustSettings = { ...DEFAULT_TRUST, cooldownBaseMs: 0, cooldownMaxMs: 0 };

export async function startTestOrchestrator(
  options: {
    policy?: TokenPolicy;
    dispatchSecret?: string;
    jobTimeoutMs?: number;
    firstTokenTimeoutMs?: number;
    spotCheckIntervalMs?: number;
    trust?: TrustSettings;
    dataDir?: string;
    databaseUrl?: string;
    internalApiSecret?: string;
    now?: () => number;
    log?: ConsolaInstance;
    queue?: QueueSettings;
    random?: () => number;
  } = {},
): Promise<Orchestrator> {
  return startOrchestrator({ host: "127.0.0.1", port: 0, log: quietLog, policy: options.policy ?? {}, trust: NO_COOLDOWN, ...options });
}

export async function startTestWorker(
  orchestrator: Orchestrator,
  env: Record<string, string> = {},
  runtime: Runtime = new EchoRuntime(),
): Promise<{ worker: Worker; started: Promise<void>; stop: () => Promise<void> }> {
  const config = readWorkerConfig(
    { BASIS_WORKER_WALLET: WALLET, BASIS_WORKER_ID: "test-worker", BASIS_ORCHESTRATOR_URL: orchestrator.url.replace("http", "ws"), ...env },
    "test-host",
  );
  const { token } = await resolveWorkerToken({ wallet: config.wallet, token: config.token, authKey: config.authKey });
  const worker = new Worker({ config, runtime, token, log: quietLog, connect: (url, opts) => io(url, opts), version: "test", healthPollMs: 50 });
  const started = worker.start();
  started.catch(() => {});
  return { worker, started, stop: async () => void (await worker.drain()) };
}

/**
 * Polls `probe` until it holds. The default bound sits just under the suite's test timeout
 * (30 s in `make test`), so a loaded machine slows a test down instead of failing it; the bound
 * only names what never came.
 */
export async function waitUntil(what: string, probe: () => boolean | Promise<boolean>, ms = 25_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function dispatch(orchestrator: Orchestrator, body: Record<string, unknown>, init: RequestInit = {}): Promise<Response> {
  return fetch(`${orchestrator.url}/v1/dispatch`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(init.headers as Record<string, string>) },
    body: JSON.stringify(body),
    ...(init.signal ? { signal: init.signal } : {}),
  });
}

/** A runtime whose behaviour each test scripts: it can hold a job open, fail, or watch for abort. */
export class ScriptedRuntime implements Runtime {
  readonly name = "ollama" as const;
  healthy_ = true;
  aborted = 0;
  started = 0;
  release: (() => void) | undefined;

  /** `silent`: accepts the job and never produces a token (a black hole) until aborted. */
  constructor(private readonly behaviour: "hold" | "fail" | "answer" | "silent" = "answer") {}

  backendModel(advertised: string): string {
    return advertised;
  }
  async check(): Promise<void> {}
  async healthy(): Promise<boolean> {
    return this.healthy_;
  }
  async run(_request: InferenceRequest, options: RunOptions): Promise<RunResult> {
    this.started++;
    if (this.behaviour === "fail") throw new BasisError("backend_error", "model exploded");
    if (this.behaviour === "silent") {
      return await new Promise<never>((_, reject) =>
        options.signal.addEventListener("abort", () => {
          this.aborted++;
          reject(options.signal.reason);
        }),
      );
    }
    options.onDelta({ content: "partial " });
    if (this.behaviour === "hold") {
      await new Promise<void>((resolve, reject) => {
        this.release = resolve;
        options.signal.addEventListener("abort", () => {
          this.aborted++;
          reject(options.signal.reason);
        });
      });
    }
    options.onDelta({ content: "answer" });
    return { text: "partial answer", finish_reason: "stop", usage: { prompt_tokens: 3, completion_tokens: 2 } };
  }
}
