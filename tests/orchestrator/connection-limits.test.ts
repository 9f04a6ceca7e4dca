/**
 * The server's error boundary and connection limits, over raw TCP on 127.0.0.1: a missing or
 * empty Host is a 400, callers that fail authentication or send a body too slowly are answered
 * and their connection closed, and nothing answered carries a stack, a path or source.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Orchestrator } from "../../lib/orchestrator/server.ts";
import { exchange } from "../helpers/raw-http.ts";
import { startTestOrchestrator } from "../helpers/harness.ts";

const SECRET = "limits-secret-value";
const body = JSON.stringify({ model: "basis-default", messages: [{ role: "user", content: "hi" }] });
const wait = { closeWaitMs: 3_000, limitMs: 20_000 };

let orchestrator: Orchestrator;
beforeAll(async () => {
  orchestrator = await startTestOrchestrator({ dispatchSecret: SECRET, internalApiSecret: "internal-secret-value" });
});
afterAll(async () => {
  await orchestrator.close();
});

const send = (text: string) => exchange(orchestrator.port, new TextEncoder().encode(text), wait);

describe("the error boundary", () => {
  test.each([
    ["an empty Host (HTTP/1.0)", "GET /healthz HTTP/1.0\r\nHost:\r\n\r\n"],
    ["no Host (HTTP/1.0)", "GET /healthz HTTP/1.0\r\n\r\n"],
    ["a Host with a path", "GET /healthz HTTP/1.1\r\nHost: a/b?c#d\r\n\r\n"],
    ["a Host with spaces", "POST /api/workers/register HTTP/1.1\r\nHost: a b\r\nContent-Length: 2\r\n\r\n{}"],
  ])("%s answers 400 bad_host and closes, with no stack, path or source", async (_name, text) => {
    const answer = await send(text);
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('"error":"bad_host"');
    expect(answer.closedByServer).toBe(true);
    for (const leak of ["    at ", "/lib/", "<html", "CREATE TABLE"]) expect(answer.text).not.toContain(leak);
  });

  test("a good Host still reaches the routes", async () => {
    const answer = await send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:8787\r\nConnection: close\r\n\r\n");
    expect(answer.status).toBe(200);
  });
});

describe("connections before authentication", () => {
  test.each([
    ["no secret", ""],
    ["a wrong secret", "Authorization: Bearer wrong\r\n"],
  ])("a keep-alive dispatch with %s is answered 401 and closed by the server", async (_name, auth) => {
    const answer = await send(`POST /v1/dispatch HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    expect(answer.status).toBe(401);
    expect(answer.closedByServer).toBe(true);
  });

  test("an internal route without its secret is answered 401 and closed", async () => {
    const answer = await send("POST /api/workers/w/verification HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    expect(answer.status).toBe(401);
    expect(answer.closedByServer).toBe(true);
  });

  test("a keep-alive request that passes is not closed", async () => {
    const answer = await exchange(orchestrator.port, new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), { closeWaitMs: 300, limitMs: 5_000 });
    expect(answer.status).toBe(200);
    expect(answer.closedByServer).toBe(false);
  });

  test("a body that never finishes is answered 408 and closed, with the secret or without it, on every route that reads one", async () => {
    const half = (path: string, auth: string) =>
      send(`POST ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{"model": "basis-`);
    const answers = await Promise.all([
      half("/v1/dispatch", `Authorization: Bearer ${SECRET}\r\n`),
      half("/v1/chat/completions", `Authorization: Bearer ${SECRET}\r\n`),
      half("/api/workers/register", ""),
      half("/api/workers/heartbeat", ""),
      half("/api/workers/prices", ""),
      half("/api/workers/register", "Idempotency-Key: slow-1\r\n"),
    ]);
    for (const answer of answers) {
      expect(answer.status).toBe(408);
      expect(answer.text).toContain("body_timeout");
      expect(answer.closedByServer).toBe(true);
    }
    // The dispatch without the secret never gets to wait for its body.
    const unauthenticated = await half("/v1/dispatch", "");
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.closedByServer).toBe(true);
  });
});
