/**
 * The reference orchestrator and Basis API: one HTTP server carries Socket.io for workers and
 * the HTTP routes. Operators can self-host it on a LAN; the canary runs it with throwaway secrets.
 */
import type { ConsolaInstance } from "consola";
import { Server as Engine } from "@socket.io/bun-engine";
import type { Server as BunServer } from "bun";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { Server } from "socket.io";
import { API_PATHS as P, HealthSchema } from "../core/api-contract.ts";
import { ORCHESTRATOR_ENV } from "../core/env-schema.ts";
import { isDevMode, type TokenPolicy } from "../core/token.ts";
import { DEFAULT_FIRST_TOKEN_TIMEOUT_MS, type DispatchDeps, DispatchError } from "./dispatch.ts";
import type { EventLimits } from "./event-limiter.ts";
import { answer, CLOSE_AFTER, checkBearerSecret, errorResponse, HttpError, limitBody, openAIErrorResponse, requireBearer, requireInternalSecret, route } from "./http.ts";
import { honourIdempotencyKey, IdempotencyCache } from "./idempotency.ts";
import { dispatchHttpError, dispatchRoute } from "./routes/dispatch.ts";
import type { ApiDeps } from "./routes/_api.ts";
import { verificationRoute } from "./routes/verification.ts";
import { marketRoute } from "./routes/market.ts";
import { pricesRoute } from "./routes/prices.ts";
import { onboardingRoute } from "./routes/onboarding.ts";
import { heartbeatRoute, registerRoute } from "./routes/register.ts";
import { receiptRoute } from "./routes/receipts.ts";
import { rewardsRoute } from "./routes/rewards.ts";
import { getWorkerRoute } from "./routes/workers.ts";
import { DEFAULT_HEARTBEAT_WINDOW_MS } from "./presence.ts";
import { GatewayMetrics } from "./metrics.ts";
import { DEFAULT_QUEUE, ModelQueues, type QueueSettings } from "./model-queue.ts";
import { LatencyBook, PriceBook } from "./routing-state.ts";
import { metricsRoute } from "./routes/metrics.ts";
import { modelRoute, modelsRoute } from "./routes/models.ts";
import { DEFAULT_TRUST, SessionRegistry, type TrustSettings } from "./sessions.ts";
import type { Cluster } from "./cluster.ts";
import { localFleet } from "./fleet.ts";
import { openPostgresStore } from "./postgres-store.ts";
import { SpotChecker } from "./spot-checks.ts";
import { openSqliteStore } from "./sqlite-store.ts";
import type { Store } from "./store.ts";
import { attachWorkerGateway } from "./worker-gateway.ts";

type Bindings = { server: BunServer<unknown> };

/** A Host header: a name, an IPv4 address or a bracketed IPv6 address, and an optional port. */
const HOST = /^(?:[A-Za-z0-9_.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

export interface OrchestratorOptions {
  host: string;
  port: number;
  dataDir?: string | undefined;
  /** SQLite only: `full` fsyncs each group commit's WAL before its answers leave (power-cut safe). */
  storeSync?: "normal" | "full";
  /**
   * A PostgreSQL URL: the store lives there instead of SQLite, and this instance joins every
   * other orchestrator on the same database (Socket.io adapter, cross-instance dispatch).
   */
  databaseUrl?: string | undefined;
  /** Bearer secret for /v1/dispatch; none means open dispatch (dev). */
  dispatchSecret?: string | undefined;
  /** Bearer secret for internal routes (the verification job); none turns them off (403). */
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
  /** The per-model wait for a free worker (BASIS_QUEUE_MAX, BASIS_QUEUE_TIMEOUT_MS). */
  queue?: QueueSettings;
  /** The weighted pick's randomness; tests pass a seeded one. */
  random?: () => number;
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

function closeOnRefusal(response: Response | undefined): Response | undefined {
  if (!response || response.status < 400) return response;
  const headers = new Headers(response.headers);
  headers.set("connection", "close");
  return new Response(response.body, { status: response.status, headers });
}

export async function startOrchestrator(options: OrchestratorOptions): Promise<Orchestrator> {
  checkBearerSecret("BASIS_ORCHESTRATOR_SECRET", options.dispatchSecret);
  checkBearerSecret("INTERNAL_API_SECRET", options.internalApiSecret);
  checkBearerSecret("BASIS_METRICS_TOKEN", options.metricsToken);
  const now = options.now ?? Date.now;
  const { log } = options;
  const store: Store = options.databaseUrl ? await openPostgresStore(options.databaseUrl) : openSqliteStore(options.dataDir, { sync: options.storeSync ?? "normal" });
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
  const queues = new ModelQueues(options.queue ?? DEFAULT_QUEUE);
  const metrics = new GatewayMetrics(
    () => registry.size,
    () => [...registry.all()].filter((s) => s.available && !s.draining).length,
    () => queues.depths(),
  );
  const latency = new LatencyBook();
  const prices = new PriceBook(() => store.listLatestOffers(), now);
  const dispatchDeps: DispatchDeps = {
    registry,
    queues,
    latency,
    prices,
    ...(options.random ? { random: options.random } : {}),
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
        if (event.outcome === "completed") latency.observe(event.workerId, event.ttftMs, event.durationMs, event.outputTokens);
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
      queued(model) {
        metrics.queued(model);
      },
      penalty(workerId, reason) {
        metrics.penalty(workerId, reason);
      },
      moved(model, reason) {
        metrics.moved(model, reason);
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

  let stopping = false;
  let inFlight = 0;
  const idle = new Set<() => void>();
  const done = () => {
    inFlight--;
    if (inFlight === 0) for (const resolve of idle) resolve();
  };
  /**
   * Routes that run a job: refused with 503 `shutting_down` while this orchestrator stops, and
   * counted in flight until their answer (a stream: until its body) ends, so a graceful stop
   * waits for them.
   */
  const jobBound: MiddlewareHandler = async (c, next) => {
    if (stopping) {
      throw new HttpError(503, "shutting_down", "This orchestrator is shutting down; retry shortly.", {}, { "retry-after": SHUTDOWN_RETRY_AFTER_S });
    }
    inFlight++;
    try {
      await next();
      const response = c.res;
      // A stream is running until its body ends.
      if (response.body && response.headers.get("content-type")?.startsWith("text/event-stream")) {
        inFlight++;
        c.res = new Response(trackEnd(response.body, done), { status: response.status, headers: response.headers });
      }
    } finally {
      done();
    }
  };

  const dispatchGate = requireBearer(options.dispatchSecret);
  // It lifts the idle timeout itself once the body is in (routes/dispatch.ts).
  const dispatch = route(dispatchRoute(dispatchDeps));
  // register, heartbeat and prices honour Idempotency-Key, so a client may retry them safely.
  const once = honourIdempotencyKey(new IdempotencyCache(now));

  // Hono's router; `strict: false` so a trailing slash reads as before. Static paths are
  // registered before `:id`, so `/api/workers/market` is never read as a worker id.
  const app = new Hono<{ Bindings: Bindings }>({ strict: false })
    .get(P.healthz, () => answer(HealthSchema, 200, { ok: true, workersOnline: registry.size, devMode }))
    .post(P.dispatch, jobBound, dispatchGate, limitBody, dispatch)
    // The same route under the OpenAI path, so stock OpenAI clients can call the network directly.
    .post(P.chatCompletions, jobBound, dispatchGate, limitBody, dispatch)
    .post(P.register, limitBody, once, route(registerRoute(api)))
    .post(P.heartbeat, limitBody, once, route(heartbeatRoute(api)))
    .get(P.onboarding, route(onboardingRoute(api)))
    .get(P.market, route(marketRoute(api)))
    .post(P.prices, limitBody, once, route(pricesRoute(api)))
    .post(P.verification, jobBound, requireInternalSecret(options.internalApiSecret), route(verificationRoute(api, dispatchDeps), { holdOpen: true }))
    .get(P.rewards, route(rewardsRoute(api)))
    .get(P.worker, route(getWorkerRoute(api)))
    .get(P.models, dispatchGate, route(modelsRoute(fleet, now())))
    .get(P.model, dispatchGate, route(modelRoute(fleet, now())))
    .get(P.receipt, requireBearer(options.dispatchSecret), route(receiptRoute(store)))
    .get(P.metrics, requireBearer(options.metricsToken || options.dispatchSecret), route(metricsRoute(metrics)));
  // Stock OpenAI clients read /v1/* errors; the Basis API keeps its flat shape.
  const respond = (c: Context, error: HttpError) => (c.req.path.startsWith("/v1/") ? openAIErrorResponse(error) : errorResponse(error));
  // No route for this method: a 405 when the path is served under another method, else 404.
  // Checked only here, so a matched route runs its own handlers and nothing else.
  const methods = [...new Set(app.routes.map((r) => r.method))];
  const router = app.router as { match(method: string, path: string): [unknown[], ...unknown[]] };
  app.notFound((c) => {
    const served = methods.some((method) => method !== c.req.method && router.match(method, c.req.path)[0].length > 0);
    // Answered without reading any body the request carries: the connection closes after it.
    return respond(c, served ? new HttpError(405, "method_not_allowed", undefined, {}, CLOSE_AFTER) : new HttpError(404, "not_found", undefined, {}, CLOSE_AFTER));
  });
  app.onError((error, c) => {
    if (error instanceof HttpError) return respond(c, error);
    if (error instanceof DispatchError) return respond(c, dispatchHttpError(error));
    if (error instanceof HTTPException) return error.getResponse();
    log.error(`internal error on ${c.req.method} ${c.req.path}: ${error instanceof Error ? error.message : "unknown"}`);
    return respond(c, new HttpError(500, "internal_error"));
  });

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
    onCapacity: (models) => queues.notify(models),
    ...(options.eventLimits ? { limits: options.eventLimits } : {}),
  });

  const { websocket } = engine.handler();
  const http = Bun.serve({
    // An empty --host means every interface; Bun alone would read it as localhost.
    hostname: options.host === "" ? "::" : options.host,
    port: options.port,
    // Keep-alive connections idle up to 65 s (as before); routes that wait on a worker lift it
    // for an authenticated request whose body is in.
    idleTimeout: 65,
    // The production error handler: never the runtime's development page (stack, paths, source).
    development: false,
    error(error) {
      log.error(`internal error: ${error instanceof Error ? error.message : "unknown"}`);
      return errorResponse(new HttpError(500, "internal_error", undefined, {}, CLOSE_AFTER));
    },
    websocket,
    fetch(request, server) {
      // A request with no usable Host names no origin: refused before anything reads its URL.
      if (!HOST.test(request.headers.get("host") ?? "")) {
        return errorResponse(new HttpError(400, "bad_host", "The request needs a Host header (host or host:port).", {}, CLOSE_AFTER));
      }
      // Socket.io's engine takes its own path; everything else is the Hono app.
      const pathStart = request.url.indexOf("/", request.url.indexOf("//") + 2);
      if (request.url.startsWith("/socket.io/", pathStart)) {
        const answer = engine.handleRequest(request, server);
        // A refused long-polling POST (unknown session, bad payload) leaves its body unread: close after it.
        return request.method === "POST" ? Promise.resolve(answer).then(closeOnRefusal) : answer;
      }
      return app.fetch(request, { server });
    },
  });
  const port = http.port as number;
  const shownHost = options.host.includes(":") ? `[${options.host}]` : options.host;
  // A wildcard bind address is no address a worker could dial, so onboarding leaves it out.
  if (!["0.0.0.0", "::", ""].includes(options.host)) listenUrl = `http://${shownHost}:${port}`;
  /** Resolves once no request is in flight, or after `ms`. */
  function settled(ms: number): Promise<void> {
    if (inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(finish, ms);
      function finish() {
        clearTimeout(timer);
        idle.delete(finish);
        resolve();
      }
      idle.add(finish);
    });
  }

  async function close(): Promise<void> {
    spotChecker?.close();
    // This instance's sockets only: through the cluster adapter a plain disconnectSockets would
    // end every worker's session on every instance.
    io.local.disconnectSockets(true);
    // The jobs that disconnect cut answer once their failure is recorded: let those answers out
    // before the connections close, so each client gets one answer, not a reset.
    await settled(2_000);
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
      // Requests still waiting for a worker will not get one here: 503 with Retry-After now.
      queues.close();
      await settled(graceMs);
      const unfinished = inFlight;
      await close();
      return { unfinished };
    },
    close,
  };
}
