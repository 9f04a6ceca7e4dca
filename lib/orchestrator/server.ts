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
import { errorResponse, HttpError, json, Router } from "./http.ts";
import { dispatchRoute } from "./routes/dispatch.ts";
import type { ApiDeps } from "./routes/_api.ts";
import { canaryRoute } from "./routes/canary.ts";
import { marketRoute } from "./routes/market.ts";
import { pricesRoute } from "./routes/prices.ts";
import { onboardingRoute } from "./routes/onboarding.ts";
import { heartbeatRoute, registerRoute } from "./routes/register.ts";
import { rewardsRoute } from "./routes/rewards.ts";
import { getWorkerRoute } from "./routes/workers.ts";
import { DEFAULT_HEARTBEAT_WINDOW_MS } from "./presence.ts";
import { DEFAULT_TRUST, SessionRegistry, type TrustSettings } from "./sessions.ts";
import type { Cluster } from "./cluster.ts";
import { localFleet } from "./fleet.ts";
import { openPostgresStore } from "./postgres-store.ts";
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
  now?: () => number;
}

export interface Orchestrator {
  url: string;
  port: number;
  devMode: boolean;
  store: Store;
  registry: SessionRegistry;
  /** Set on PostgreSQL: this instance's place among the orchestrators on the same database. */
  cluster: Cluster | undefined;
  close(): Promise<void>;
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
  };
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
    .on("GET", "/api/workers/:id", getWorkerRoute(api));

  const handle = async (request: Request, url: URL): Promise<Response> => {
    try {
      const match = router.match(request.method, url.pathname);
      if (match === undefined) throw new HttpError(404, "not_found");
      if (match === "method") throw new HttpError(405, "method_not_allowed");
      return await match.handler({ request, params: match.params, url });
    } catch (error) {
      if (error instanceof HttpError) return errorResponse(error);
      log.error(`internal error on ${request.method} ${url.pathname}: ${error instanceof Error ? error.message : "unknown"}`);
      return errorResponse(new HttpError(500, "internal_error"));
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
    onSession: cluster?.onSession,
    ...(options.eventLimits ? { limits: options.eventLimits } : {}),
  });

  const { websocket } = engine.handler();
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
      if (request.method === "POST" && WORKER_BOUND.test(url.pathname)) server.timeout(request, 0);
      return handle(request, url);
    },
  });
  const port = http.port as number;
  const shownHost = options.host.includes(":") ? `[${options.host}]` : options.host;
  // A wildcard bind address is no address a worker could dial, so onboarding leaves it out.
  if (!["0.0.0.0", "::", ""].includes(options.host)) listenUrl = `http://${shownHost}:${port}`;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    devMode,
    store,
    registry,
    cluster,
    async close() {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await http.stop(true);
      await cluster?.close();
      await store.close();
    },
  };
}
