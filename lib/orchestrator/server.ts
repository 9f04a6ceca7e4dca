/**
 * The reference orchestrator and Basis API: one HTTP server carries Socket.io for workers and
 * the HTTP routes. Operators can self-host it on a LAN; the canary runs it with throwaway secrets.
 */
import type { ConsolaInstance } from "consola";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import { isDevMode, type TokenPolicy } from "../core/token.ts";
import type { DispatchDeps } from "./dispatch.ts";
import { HttpError, Router, sendError, sendJson } from "./http.ts";
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
import { SessionRegistry } from "./sessions.ts";
import { openSqliteStore } from "./sqlite-store.ts";
import type { Store } from "./store.ts";
import { attachWorkerGateway } from "./worker-gateway.ts";

export interface OrchestratorOptions {
  host: string;
  port: number;
  dataDir?: string | undefined;
  /** Bearer secret for /v1/dispatch; none means open dispatch (dev). */
  dispatchSecret?: string | undefined;
  /** Bearer secret for internal routes (the canary job); none turns them off (403). */
  internalApiSecret?: string | undefined;
  policy: TokenPolicy;
  log: ConsolaInstance;
  jobTimeoutMs?: number;
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
  close(): Promise<void>;
}

export async function startOrchestrator(options: OrchestratorOptions): Promise<Orchestrator> {
  const now = options.now ?? Date.now;
  const { log } = options;
  const store = openSqliteStore(options.dataDir);
  const registry = new SessionRegistry();
  const devMode = isDevMode(options.policy);
  const dispatchDeps: DispatchDeps = {
    registry,
    store,
    devMode,
    now,
    jobTimeoutMs: options.jobTimeoutMs ?? 120_000,
    ackTimeoutMs: 5_000,
  };
  let listenUrl: string | undefined;
  const api: ApiDeps = {
    store,
    registry,
    now,
    devMode,
    heartbeatWindowMs: options.heartbeatWindowMs ?? DEFAULT_HEARTBEAT_WINDOW_MS,
    url: () => listenUrl,
  };

  const router = new Router()
    .on("GET", "/healthz", ({ res }) => sendJson(res, 200, { ok: true, workersOnline: registry.size, devMode }))
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

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    try {
      const match = router.match(req.method ?? "GET", url.pathname);
      if (match === undefined) throw new HttpError(404, "not_found");
      if (match === "method") throw new HttpError(405, "method_not_allowed");
      await match.handler({ req, res, params: match.params, url });
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) {
        if (error.status !== 499) sendError(res, error);
        return;
      }
      log.error(`internal error on ${req.method} ${url.pathname}: ${error instanceof Error ? error.message : "unknown"}`);
      sendError(res, new HttpError(500, "internal_error"));
    }
  };

  const http = createServer((req, res) => void handle(req, res));
  http.keepAliveTimeout = 65_000;
  const io = new Server(http, { serveClient: false, transports: ["websocket", "polling"], maxHttpBufferSize: 2e6 });
  attachWorkerGateway({ io, registry, store, policy: options.policy, log, now });

  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port, options.host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const shownHost = options.host.includes(":") ? `[${options.host}]` : options.host;
  // A wildcard bind address is no address a worker could dial, so onboarding leaves it out.
  if (!["0.0.0.0", "::", ""].includes(options.host)) listenUrl = `http://${shownHost}:${port}`;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    devMode,
    store,
    registry,
    async close() {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      http.closeAllConnections?.();
      store.close();
    },
  };
}
