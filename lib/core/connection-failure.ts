/**
 * Why a worker cannot connect to its orchestrator, in words an operator can act on. The
 * Socket.io client reports every failure as "websocket error"; a probe of the same URL over
 * plain HTTP (lib/io/orchestrator-probe.ts) tells them apart, and this module reads the probe.
 */

export type ConnectionFailureKind =
  | "name_not_found"
  | "refused"
  | "timed_out"
  | "tls_mismatch"
  | "tls_certificate"
  | "reset"
  | "not_socket_io"
  | "websocket_blocked"
  | "refused_by_orchestrator"
  | "unknown";

export interface ConnectionFailure {
  kind: ConnectionFailureKind;
  /** One phrase for a log line or an error message; never holds a secret. */
  cause: string;
}

/** What one HTTP request of the probe produced. */
export type ProbeReply = { ok: true; status: number; contentType: string; body: string } | { ok: false; name: string; code: string; message: string };

const CERT_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|HOSTNAME|ALTNAME/i;

/** An Engine.IO server answers its polling handshake with `0{"sid":...}`, or a JSON error of its own. */
export function isSocketIoAnswer(reply: ProbeReply): boolean {
  if (!reply.ok) return false;
  if (/^0\{.*"sid"/s.test(reply.body.trim())) return true;
  return reply.status === 400 && /^\{"code":\d+,"message":"(Transport unknown|Bad request|Bad handshake method|Unsupported protocol version)/.test(reply.body.trim());
}

/** Reads a failed request: DNS, refusal, timeout, TLS (Bun's codes first, Deno's messages after). */
export function classifyRequestError(reply: Extract<ProbeReply, { ok: false }>, tls: boolean): ConnectionFailure {
  const code = reply.code;
  const text = `${reply.code} ${reply.message}`;
  if (reply.name === "TimeoutError" || reply.name === "AbortError" || /timed out|ETIMEDOUT/i.test(text)) {
    return { kind: "timed_out", cause: "timed out: nothing answered (a firewall, or the wrong host or port)" };
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || /dns error|failed to lookup|Name or service not known|getaddrinfo/i.test(text)) {
    return { kind: "name_not_found", cause: "the host name was not found (DNS): check the spelling of the host" };
  }
  if (code === "ECONNREFUSED" || /Connection refused|ECONNREFUSED/i.test(text)) {
    return { kind: "refused", cause: "connection refused: nothing listens on that port (is the orchestrator running?)" };
  }
  if (tls && CERT_CODES.test(code)) return { kind: "tls_certificate", cause: `the TLS certificate is not trusted (${code.slice(0, 60)})` };
  if (tls && CERT_CODES.test(reply.message) && /certificate/i.test(reply.message)) {
    return { kind: "tls_certificate", cause: "the TLS certificate is not trusted" };
  }
  if (tls && (code === "EPROTO" || /TLS|SSL|handshake|corrupt message|wrong version/i.test(text))) {
    return { kind: "tls_mismatch", cause: "TLS mismatch: the URL says wss:// but the port does not speak TLS (use ws://, or the TLS port)" };
  }
  if (code === "ECONNRESET" || /reset|closed unexpectedly|connection closed/i.test(text)) {
    return { kind: "reset", cause: "the connection was closed as soon as it opened" };
  }
  return { kind: "unknown", cause: `the request failed (${(code || reply.name || "error").slice(0, 40)})` };
}

/**
 * The whole verdict. `plainOverTls` is the answer of the same host and port over https when a
 * ws:// probe was reset: a TLS answer there means the URL should say wss://.
 */
export function classifyProbe(reply: ProbeReply, tls: boolean, plainOverTls?: ProbeReply): ConnectionFailure {
  if (reply.ok) {
    if (isSocketIoAnswer(reply)) {
      return { kind: "websocket_blocked", cause: "the Socket.io server answers over HTTP, but the WebSocket connection failed (a proxy that does not pass WebSocket upgrades?)" };
    }
    const type = reply.contentType.split(";")[0]?.trim() || "no content type";
    return { kind: "not_socket_io", cause: `not a Socket.io server: HTTP ${reply.status} (${type.slice(0, 40)}) answered its handshake (check the host, port and path)` };
  }
  const failure = classifyRequestError(reply, tls);
  if (!tls && failure.kind === "reset" && plainOverTls !== undefined) {
    const overTls = plainOverTls.ok || (!plainOverTls.ok && CERT_CODES.test(`${plainOverTls.code} ${plainOverTls.message}`));
    if (overTls) return { kind: "tls_mismatch", cause: "TLS mismatch: the port speaks TLS but the URL says ws:// (use wss://)" };
  }
  return failure;
}

/** A refusal by the orchestrator itself (its middleware said no): the reason it gave, made printable. */
export function describeRefusal(reason: string): ConnectionFailure {
  const plain = reason.replace(/[^\x20-\x7e]/g, " ").trim().slice(0, 200) || "no reason given";
  return { kind: "refused_by_orchestrator", cause: `refused by the orchestrator (${plain})` };
}
