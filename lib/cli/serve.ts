import { defineCommand } from "citty";

/** Every variable `serve` reads (the env contract, ORCHESTRATOR_ENV), for `serve --help`. */
export async function serveEnvironment(): Promise<readonly (readonly [string, string])[]> {
  const { describeEnvVar, ORCHESTRATOR_ENV } = await import("../core/env-schema.ts");
  return Object.entries(ORCHESTRATOR_ENV).map(([name, spec]) => [name, describeEnvVar(spec)]);
}

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
  { environment: serveEnvironment },
);
