/**
 * Probes an orchestrator URL over plain HTTP, the way Socket.io's first request would go, so a
 * failed connection can be named: DNS, refused, timed out, TLS mismatch, not a Socket.io server.
 * Used by the worker when it cannot connect, and by `setup --check --env-file`.
 */
import { type ConnectionFailure, classifyProbe, isSocketIoAnswer, type ProbeReply } from "../core/connection-failure.ts";
import { socketTarget } from "../core/socket-target.ts";

export interface OrchestratorProbe {
  /** True when a Socket.io server answered the handshake over HTTP. */
  answers: boolean;
  failure: ConnectionFailure | undefined;
}

async function request(url: string, timeoutMs: number, fetchFn: typeof fetch): Promise<ProbeReply> {
  try {
    const response = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
    const body = (await response.text()).slice(0, 2_000);
    return { ok: true, status: response.status, contentType: response.headers.get("content-type") ?? "", body };
  } catch (error) {
    // Bun puts the system error in `code`; Deno and Node put it in `cause` (Deno as words only).
    const e = error as { name?: string; code?: unknown; message?: string; cause?: { code?: unknown; message?: unknown } };
    const code = typeof e.code === "string" ? e.code : typeof e.cause?.code === "string" ? e.cause.code : "";
    const cause = typeof e.cause?.message === "string" ? ` ${e.cause.message}` : "";
    return { ok: false, name: e.name ?? "Error", code, message: `${e.message ?? ""}${cause}` };
  }
}

export async function probeOrchestrator(orchestratorUrl: string, timeoutMs = 5_000, fetchFn: typeof fetch = fetch): Promise<OrchestratorProbe> {
  const target = socketTarget(orchestratorUrl);
  const tls = target.uri.startsWith("wss:") || target.uri.startsWith("https:");
  const origin = target.uri.replace(/^ws/, "http");
  const reply = await request(`${origin}${target.path}?EIO=4&transport=polling`, timeoutMs, fetchFn);
  if (isSocketIoAnswer(reply)) return { answers: true, failure: classifyProbe(reply, tls) };
  let overTls: ProbeReply | undefined;
  if (!tls && !reply.ok && (reply.code === "ECONNRESET" || /reset|closed/i.test(reply.message))) {
    overTls = await request(`${origin.replace(/^http:/, "https:")}${target.path}?EIO=4&transport=polling`, timeoutMs, fetchFn);
  }
  return { answers: false, failure: classifyProbe(reply, tls, overTls) };
}
