import { describe, expect, test } from "bun:test";
import { classifyProbe, type ConnectionFailureKind, describeRefusal, isSocketIoAnswer, type ProbeReply } from "../../lib/core/connection-failure.ts";

const failed = (name: string, code: string, message: string): ProbeReply => ({ ok: false, name, code, message });
const answered = (status: number, body: string, contentType = "text/plain"): ProbeReply => ({ ok: true, status, contentType, body });

describe("classifyProbe", () => {
  // Bun reports the system error as `code`; Deno only in words (the probe appends error.cause.message).
  const cases: [string, ProbeReply, boolean, ConnectionFailureKind][] = [
    ["Bun: a name that does not resolve", failed("TypeError", "ENOTFOUND", "getaddrinfo ENOTFOUND x.invalid"), false, "name_not_found"],
    ["Deno: a name that does not resolve", failed("TypeError", "", "fetch failed error sending request: client error (Connect): dns error: failed to lookup address information"), false, "name_not_found"],
    ["Bun: a closed port", failed("TypeError", "ECONNREFUSED", "Unable to connect"), false, "refused"],
    ["Deno: a closed port", failed("TypeError", "", "fetch failed error sending request: tcp connect error: Connection refused (os error 111)"), false, "refused"],
    ["a timeout", failed("TimeoutError", "23", "The operation timed out."), false, "timed_out"],
    ["Bun: wss:// to a plain port", failed("TypeError", "EPROTO", "The TLS handshake failed."), true, "tls_mismatch"],
    ["Deno: wss:// to a plain port", failed("TypeError", "", "fetch failed error sending request: received corrupt message of type InvalidContentType"), true, "tls_mismatch"],
    ["an untrusted certificate", failed("TypeError", "DEPTH_ZERO_SELF_SIGNED_CERT", "self signed certificate"), true, "tls_certificate"],
    ["a web page", answered(200, "<html>", "text/html"), false, "not_socket_io"],
    ["a Socket.io server whose WebSocket fails", answered(200, '0{"sid":"abc","upgrades":["websocket"]}'), false, "websocket_blocked"],
  ];
  for (const [name, reply, tls, kind] of cases) test(name, () => expect(classifyProbe(reply, tls).kind).toBe(kind));

  test("ws:// to a TLS port: reset in plain, answered over TLS", () => {
    const reset = failed("TypeError", "ECONNRESET", "The socket connection was closed unexpectedly");
    expect(classifyProbe(reset, false, answered(404, "not found")).kind).toBe("tls_mismatch");
    expect(classifyProbe(reset, false, failed("TypeError", "ECONNREFUSED", "")).kind).toBe("reset");
  });
});

describe("isSocketIoAnswer", () => {
  test("knows Engine.IO's handshake and its own errors, nothing else", () => {
    expect(isSocketIoAnswer(answered(400, '{"code":0,"message":"Transport unknown"}'))).toBe(true);
    expect(isSocketIoAnswer(answered(200, '{"sid":"abc"}'))).toBe(false);
    expect(isSocketIoAnswer(answered(404, "Not Found"))).toBe(false);
  });
});

describe("describeRefusal", () => {
  test("keeps the orchestrator's reason, printable and bounded", () => {
    expect(describeRefusal("invalid token").cause).toBe("refused by the orchestrator (invalid token)");
    expect(describeRefusal("\u001b[31mred\u0007").cause).not.toContain("\u001b");
    expect(describeRefusal("x".repeat(500)).cause.length).toBeLessThan(240);
    expect(describeRefusal("").cause).toContain("no reason given");
  });
});
