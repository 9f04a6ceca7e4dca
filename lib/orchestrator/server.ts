/**
 * The reference orchestrator and Basis API: one HTTP server carries Socket.io for workers and
 * the HTTP routes. Operators can self-host it on a LAN; the canary runs it with throwaway secrets.
 */
import type { ConsolaInstance } from "consola";
import { Server as Engine } from "@socket.io/bun-engine";
import { Server } from "socket.io";
import { ORCHESTRATOR_ENV } from "../core/env-schema.ts";
import { isDevMode, type TokenPolicy } from "../core/token.ts";
import { DEFAULT_FIRST_TOKEN_TIMEOUT_MS, type DispatchDeps } from "./dispatch.ts";
import type { EventLimits } from "./event-limiter.ts";
import { errorResponse, HttpError, json, openAIErrorResponse, Router } from "./http.ts";
import { dispatchRoute } from "./routes/dispatch.ts";
import type { ApiDeps } from "./routes/_api.ts";
import { canaryRoute } from "./routes/canary.ts";
import { marketRoute } from "./routes/market.ts";
import { pricesRoute } from "./routes/prices.ts";
import { onboardingRoute } from "./routes/onboarding.ts";
import { heartbeatRoute, registerRoute } from "./routes/register.ts";
import { receiptRoute } from "./routes/receipts.ts";
import { rewardsRoute } from "./routes/rewards.ts";
import { getWorkerRoute } from "./routes/workers.ts";
import { DEFAULT_HEARTBEAT_WINDOW_MS } from "./presence.ts";
import { GatewayMetrics } from "./metrics.ts";
import { metricsRoute } from "./routes/metrics.ts";
import { DEFAULT_TRUST, SessionRegistry, type TrustSettings } from "./sessions.ts";
import type { Cluster } from "./cluster.ts";
import { localFleet } from "./fleet.ts";
import { openPostgresStore } from "./postgres-store.ts";
import { SpotChecker } from "./spot-checks.ts";
import { openSqliteStore } from "./sqlite-store.ts";
import type { Store } from "./store.ts";
import { attachWorkerGateway } from "./worker-gateway.ts";

/** Routes that hold the request open while a worker runs a job. */
const WORKER_BOUND = /^\/(v1\/dispatch|v1\/chat\/completions|api\/workers\/[^/]+\/canary)$/;

export interface OrchestratorOptions {
  host: string;
  port: number;
  dataDir?: string | undefined;
  /**
   * A PostgreSQL URL: the store lives there instead of SQLite, and this instance joins every
   * other orchestrator on the same database (Socket.io adapter, cross-instance dispatch).
   */
  databaseUrl?: string | undefined;
  /** Bearer secret for /v1/dispatch; none means open dispatch (dev). */
  dispatchSecret?: string | undefined;
  /** Bearer secret for internal routes (the canary job); none turns them off (403). */
  internalApiSecret?: string | undefined;
  policy: TokenPolicy;
  log: ConsolaInstance;
  jobTimeoutMs?: number;
  /** A job with no token after this long is tried on another worker (default 30 s). */
  firstTokenTimeoutMs?: number | undefined;
  /** Earned capacity and cooldowns (tests shorten the cooldown). */
  trust?: TrustSettings;
  /** Per-connection event budget. */
  eventLimits?: EventLimits;
  /** How long an HTTP heartbeat keeps a worker online (default 90 s). */
  heartbeatWindowMs?: number;
  /**
   * Mean interval between spot checks of each worker (docs/SPOT-CHECKS.md). Unset or 0: none;
   * `basis-canary serve` sets BASIS_SPOT_CHECK_INTERVAL_MS, default 10 minutes.
   */
  spotCheckIntervalMs?: number | undefined;
  /** Bearer token for GET /metrics (BASIS_METRICS_TOKEN); unset: the dispatch secret. */
  metricsToken?: string | undefined;
  now?: () => number;
}

export interface Orchestrator {
  url: string;
  port: number;
  devMode: boolean;
  store: Store;
  registry: SessionRegistry;
  metrics: GatewayMetrics;
  /**
   * SIGTERM: new dispatches get 503 `shutting_down` with Retry-After, running ones may finish
   * within `graceMs`, then the store is flushed and everything closed.
   */
  shutdown(graceMs: number): Promise<{ unfinished: number }>;
  /** Set on PostgreSQL: this instance's place among the orchestrators on the same database. */
  cluster: Cluster | undefined;
  close(): Promise<void>;
}

/** Seconds a client is told to wait before retrying while this orchestrator stops. */
const SHUTDOWN_RETRY_AFTER_S = "5";

/** Passes a stream through and calls `onEnd` once when it ends, fails or is cancelled. */
function trackEnd(body: ReadableStream<Uint8Array>, onEnd: () => void): ReadableStream<Uint8Array> {
  let ended = false;
  const end = () => {
    if (!ended) {
      ended = true;
      onEnd();
    }
  };
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          end();
          controller.close();
        } else {
          controller.enqueue(value);
        }
      } catch (error) {
        end();
        controller.error(error);
      }
    },
    async cancel(reason) {
      end();
      await reader.cancel(reason);
    },
  });
}

export async function startOrchestrator(options: OrchestratorOptions): Promise<Orchestrator> {
  const now = options.now ?? Date.now;
  const { log } = options;
  const store: Store = options.databaseUrl ? await openPostgresStore(options.databaseUrl) : openSqliteStore(options.dataDir);
  const registry = new SessionRegistry(now, options.trust ?? DEFAULT_TRUST);
  // Bun's own engine, not node:http's: its compatibility layer cost about half the CPU under load.
  const io = new Server({ serveClient: false });
  // On PostgreSQL this instance joins every other one on the same database (loaded only then).
  const cluster = options.databaseUrl
    ? await import("./cluster.ts")
        .then(({ joinCluster }) => joinCluster({ io, registry, databaseUrl: options.databaseUrl as string, log }))
        .catch(async (error: unknown) => {
          await store.close();
          throw error;
        })
    : undefined;
  const fleet = cluster?.fleet ?? localFleet(registry);
  const devMode = isDevMode(options.policy);
  const metrics = new GatewayMetrics(
    () => registry.size,
    () => [...registry.all()].filter((s) => s.available && !s.draining).length,
  );
  const dispatchDeps: DispatchDeps = {
    registry,
    store,
    devMode,
    now,
    jobTimeoutMs: options.jobTimeoutMs ?? ORCHESTRATOR_ENV.BASIS_JOB_TIMEOUT_MS.fallback,
    ackTimeoutMs: 5_000,
    firstTokenTimeoutMs: options.firstTokenTimeoutMs ?? DEFAULT_FIRST_TOKEN_TIMEOUT_MS,
    relay: cluster?.relay,
    log,
    events: {
      // One line per job: ids, counts and times only, never a prompt, an answer or a secret.
      job(event) {
        metrics.job(event);
        log.info("job", {
          job_id: event.jobId,
          model: event.model,
          worker_id: event.workerId,
          outcome: event.outcome,
          prompt_tokens: event.promptTokens,
          output_tokens: event.outputTokens,
          ttft_ms: event.ttftMs ?? null,
          duration_ms: event.durationMs,
          payable: event.payable,
          ...(event.reasons.length ? { reasons: event.reasons.join(",") } : {}),
        });
      },
      refused(reason, model) {
        metrics.refused(reason);
        log.info("dispatch refused", { model, reason });
      },
    },
  };
  const spotChecker = options.spotCheckIntervalMs ? new SpotChecker({ deps: dispatchDeps, intervalMs: options.spotCheckIntervalMs, log }) : undefined;
  let listenUrl: string | undefined;
  const api: ApiDeps = {
    store,
    registry,
    fleet,
    now,
    devMode,
    heartbeatWindowMs: options.heartbeatWindowMs ?? DEFAULT_HEARTBEAT_WINDOW_MS,
    url: () => listenUrl,
  };

  const router = new Router()
    .on("GET", "/healthz", () => json(200, { ok: true, workersOnline: registry.size, devMode }))
    .on("POST", "/v1/dispatch", dispatchRoute(dispatchDeps, options.dispatchSecret))
    // The same route under the OpenAI path, so stock OpenAI clients can call the network directly.
    .on("POST", "/v1/chat/completions", dispatchRoute(dispatchDeps, options.dispatchSecret))
    .on("POST", "/api/workers/register", registerRoute(api))
    .on("POST", "/api/workers/heartbeat", heartbeatRoute(api))
    .on("GET", "/api/workers/onboarding/status", onboardingRoute(api))
    .on("GET", "/api/workers/market", marketRoute(api))
    .on("POST", "/api/workers/prices", pricesRoute(api))
    .on("POST", "/api/workers/:id/canary", canaryRoute(api, dispatchDeps, options.internalApiSecret))
    .on("GET", "/api/workers/:id/rewards", rewardsRoute(api))
    .on("GET", "/api/workers/:id", getWorkerRoute(api))
    .on("GET", "/api/receipts/:hash", receiptRoute(store, options.dispatchSecret))
    .on("GET", "/metrics", metricsRoute(metrics, options.metricsToken || options.dispatchSecret));

  const handle = async (request: Request, url: URL): Promise<Response> => {
    try {
      const match = router.match(request.method, url.pathname);
      if (match === undefined) throw new HttpError(404, "not_found");
      if (match === "method") throw new HttpError(405, "method_not_allowed");
      return await match.handler({ request, params: match.params, url });
    } catch (error) {
      // Stock OpenAI clients read /v1/* errors; the Basis API keeps its flat shape.
      const respond = url.pathname.startsWith("/v1/") ? openAIErrorResponse : errorResponse;
      if (error instanceof HttpError) return respond(error);
      log.error(`internal error on ${request.method} ${url.pathname}: ${error instanceof Error ? error.message : "unknown"}`);
      return respond(new HttpError(500, "internal_error"));
    }
  };

  const engine = new Engine({ path: "/socket.io/", maxHttpBufferSize: 2e6 });
  io.bind(engine);
  attachWorkerGateway({
    io,
    registry,
    store,
    policy: options.policy,
    log,
    now,
    onSession(session) {
      cluster?.onSession(session);
      spotChecker?.watch(session);
    },
    ...(options.eventLimits ? { limits: options.eventLimits } : {}),
  });

  const { websocket } = engine.handler();
  let stopping = false;
  let inFlight = 0;
  const idle = new Set<() => void>();
  const jobBound = async (request: Request, url: URL): Promise<Response> => {
    if (stopping) {
      return openAIErrorResponse(
        new HttpError(503, "shutting_down", "This orchestrator is shutting down; retry shortly.", {}, { "retry-after": SHUTDOWN_RETRY_AFTER_S }),
      );
    }
    inFlight++;
    try {
      const response = await handle(request, url);
      // A stream is running until its body ends.
      if (response.body && response.headers.get("content-type")?.startsWith("text/event-stream")) {
        inFlight++;
        return new Response(trackEnd(response.body, done), { status: response.status, headers: response.headers });
      }
      return response;
    } finally {
      done();
    }
  };
  const done = () => {
    inFlight--;
    if (inFlight === 0) for (const resolve of idle) resolve();
  };

  const http = Bun.serve({
    // An empty --host means every interface; Bun alone would read it as localhost.
    hostname: options.host === "" ? "::" : options.host,
    port: options.port,
    // Keep-alive connections idle up to 65 s (as before); routes that wait on a worker lift it below.
    idleTimeout: 65,
    websocket,
    fetch(request, server) {
      const url = new URL(request.url);
      if (url.pathname.startsWith("/socket.io/")) return engine.handleRequest(request, server);
      // A job may run for minutes without a byte on the wire; its own timeout governs it.
      if (request.method === "POST" && WORKER_BOUND.test(url.pathname)) {
        server.timeout(request, 0);
        return jobBound(request, url);
      }
      return handle(request, url);
    },
  });
  const port = http.port as number;
  const shownHost = options.host.includes(":") ? `[${options.host}]` : options.host;
  // A wildcard bind address is no address a worker could dial, so onboarding leaves it out.
  if (!["0.0.0.0", "::", ""].includes(options.host)) listenUrl = `http://${shownHost}:${port}`;
  async function close(): Promise<void> {
    spotChecker?.close();
    // This instance's sockets only: through the cluster adapter a plain disconnectSockets would
    // end every worker's session on every instance.
    io.local.disconnectSockets(true);
    await new Promise<void>((resolve) => io.close(() => resolve()));
    await http.stop(true);
    await cluster?.close();
    await store.close();
  }
  return {
    url: `http://${shownHost}:${port}`,
    port,
    devMode,
    store,
    registry,
    cluster,
    metrics,
    async shutdown(graceMs) {
      stopping = true;
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(finish, graceMs);
          function finish() {
            clearTimeout(timer);
            idle.delete(finish);
            resolve();
          }
          idle.add(finish);
        });
      }
      const unfinished = inFlight;
      await close();
      return { unfinished };
    },
    close,
  };
}
