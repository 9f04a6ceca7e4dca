/** Helpers for the Basis API tests: a real orchestrator on 127.0.0.1:0, JSON calls, raw sockets. */
import { io, type Socket } from "socket.io-client";
import { PROTOCOL_VERSION } from "../../lib/core/protocol.ts";
import { devToken, handshakeAuth, type TokenPolicy } from "../../lib/core/token.ts";
import { type Orchestrator, startOrchestrator } from "../../lib/orchestrator/server.ts";
import { quietLog } from "../helpers/harness.ts";

export const OTHER_WALLET = "0x1111111111111111111111111111111111111111";
/** A valid EIP-55 checksummed address (from the EIP-55 test vectors). */
export const CHECKSUMMED = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

export interface ApiTestOptions {
  dataDir?: string;
  now?: () => number;
  heartbeatWindowMs?: number;
  policy?: TokenPolicy;
}

export function startApi(options: ApiTestOptions = {}): Promise<Orchestrator> {
  return startOrchestrator({ host: "127.0.0.1", port: 0, log: quietLog, policy: options.policy ?? {}, ...options });
}

export interface JsonAnswer {
  status: number;
  body: Record<string, any>;
  text: string;
}

export async function call(orchestrator: Orchestrator, method: string, path: string, body?: unknown): Promise<JsonAnswer> {
  const res = await fetch(`${orchestrator.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text), text };
}

export function register(orchestrator: Orchestrator, body: Record<string, unknown>): Promise<JsonAnswer> {
  return call(orchestrator, "POST", "/api/workers/register", body);
}

export function registration(workerId: string, wallet: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { worker_id: workerId, worker_wallet: wallet, runtime: "echo", models: ["basis-default"], ...extra };
}

/** Connects a raw Socket.io client with the protocol handshake; resolves once accepted or refused. */
export function connectWorker(
  orchestrator: Orchestrator,
  workerId: string,
  wallet: string,
  token = devToken(wallet),
): Promise<{ socket: Socket; refused?: string }> {
  const base = { protocol: PROTOCOL_VERSION, worker_id: workerId, worker_wallet: wallet, runtime: "echo", models: ["basis-default"], concurrency: 1 };
  const socket: Socket = io(orchestrator.url, { transports: ["websocket"], reconnection: false, auth: handshakeAuth(base, token, () => socket.io.engine?.id) });
  return new Promise((resolve) => {
    socket.once("connect", () => resolve({ socket }));
    socket.once("connect_error", (error) => resolve({ socket, refused: error.message }));
  });
}
