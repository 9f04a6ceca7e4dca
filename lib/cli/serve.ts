import { defineCommand } from "citty";

/** Every variable `serve` reads; `serve --help` prints them (a test holds this list to the code). */
export const SERVE_ENVIRONMENT: readonly (readonly [string, string])[] = [
  ["BASIS_WORKER_AUTH_KEY", "SECRET. Master key workers authenticate with (wallet-bound tokens derive from it); at least 32 bytes, e.g. `openssl rand -hex 32`. Unset with no BASIS_WORKER_TOKENS: dev mode"],
  ["BASIS_WORKER_TOKENS", "SECRET. Comma-separated static worker tokens accepted besides the auth key"],
  ["BASIS_ORCHESTRATOR_SECRET", "SECRET. Bearer token clients need for /v1/dispatch and /v1/chat/completions; unset: open to anyone who reaches the port"],
  ["INTERNAL_API_SECRET", "SECRET. Enables the verification route that marks price offers verified"],
  ["PORT", "Port when --port is not given (default 8787)"],
  ["BASIS_JOB_TIMEOUT_MS", "How long a dispatched job may run before the client gets 504"],
  ["BASIS_HEARTBEAT_WINDOW_MS", "How long an HTTP heartbeat keeps a worker online (1000 to 86400000; default 90000)"],
  ["BASIS_SPOT_CHECK_INTERVAL_MS", "Mean interval between hidden spot checks of each worker (0 turns them off; 1000 to 86400000; default 600000)"],
  ["BASIS_FIRST_TOKEN_TIMEOUT_MS", "A job with no token after this long is cancelled on its worker and tried on another (1000 to 3600000; default 30000)"],
  ["BASIS_STORE_DRIVER", "sqlite (default; --data DIR makes it durable) | postgres (with BASIS_DATABASE_URL; instances on one database form a cluster)"],
  ["BASIS_DATABASE_URL", "SECRET when it holds a password. postgres://user:pass@host/db for BASIS_STORE_DRIVER=postgres"],
  ["BASIS_LOG_LEVEL", "debug | info (default) | quiet"],
  ["BASIS_LOG_FORMAT", "text (default) | json: one JSON object a log line; --log-format wins"],
  ["BASIS_METRICS_TOKEN", "SECRET. Bearer token for GET /metrics; unset: BASIS_ORCHESTRATOR_SECRET"],
  ["BASIS_SHUTDOWN_TIMEOUT_MS", "How long SIGTERM lets running jobs finish (default 30000)"],
  ["BASIS_QUEUE_MAX", "Requests that may wait per model while its workers are busy (default 256); past it: 429"],
  ["BASIS_QUEUE_TIMEOUT_MS", "How long a request may wait for a free worker (default 30000); past it: 429 with Retry-After"],
];

export default Object.assign(
  defineCommand({
    meta: { name: "serve", description: "Run the reference orchestrator and Basis API (Socket.io for workers + HTTP) until stopped. Settings that are secrets come from the environment only (listed below)" },
    args: {
      host: { type: "string", description: "Address to listen on", default: "127.0.0.1", valueHint: "addr" },
      port: { type: "string", description: "Port (0 picks a free one; default $PORT or 8787)", valueHint: "n" },
      "port-file": { type: "string", description: "Write the port here once listening", valueHint: "path" },
      data: { type: "string", description: "Directory for the SQLite store (default: in memory, lost on exit)", valueHint: "dir" },
      "log-format": { type: "string", description: "Log lines as text or json (default $BASIS_LOG_FORMAT or text)", valueHint: "text|json" },
    },
    async run({ args }) {
      const { serveOrchestrator } = await import("../orchestrator/serve-command.ts");
      await serveOrchestrator({ host: args.host, port: args.port, portFile: args["port-file"], dataDir: args.data, logFormat: args["log-format"] });
    },
  }),
  { environment: SERVE_ENVIRONMENT },
);
