/**
 * The orchestrator's HTTP layer (Hono): bearer auth, body limit, 404/405, SSE streaming and the
 * mapping of dispatch failures to statuses, over real HTTP on 127.0.0.1.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { isBasisError } from "../../lib/core/errors.ts";
import { createSseDecoder } from "../../lib/core/sse.ts";
import type { Orchestrator } from "../../lib/orchestrator/server.ts";
import { dispatch, ScriptedRuntime, startTestOrchestrator, startTestWorker, waitUntil } from "../helpers/harness.ts";

const SECRET = "s3cret-Token_value.~+/";

/** /v1 answers errors in OpenAI's shape; the code sits in `error.code`. */
async function openAICode(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}
const messages = [{ role: "user", content: "hello there" }];
let orchestrator: Orchestrator | undefined;
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await orchestrator?.close();
  orchestrator = undefined;
});

async function withWorker(options: { dispatchSecret?: string } = {}, runtime?: ScriptedRuntime): Promise<Orchestrator> {
  orchestrator = await startTestOrchestrator(options);
  const handle = await startTestWorker(orchestrator, {}, runtime);
  stops.push(handle.stop);
  const o = orchestrator;
  await waitUntil("worker online", () => o.registry.get("test-worker") !== undefined);
  return o;
}

/** Sends raw bytes and returns the status line and body, for requests fetch will not make. */
function rawRequest(o: Orchestrator, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(o.port, "127.0.0.1", () => socket.write(text));
    let answer = "";
    socket.on("data", (chunk) => {
      answer += chunk.toString("utf8");
      if (/\r\n\r\n[\s\S]*\}/.test(answer)) {
        socket.destroy();
        resolve(answer);
      }
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(answer));
  });
}

describe("bearer auth on /v1/dispatch", () => {
  test("a missing, malformed or wrong token is the same 401 JSON answer; the right one passes", async () => {
    const o = await withWorker({ dispatchSecret: SECRET });
    const body = { model: "basis-default", messages, max_tokens: 4 };
    for (const authorization of [undefined, "Basic abc", "Bearer", "Bearer has spaces inside", "Bearer wrong-token", `Bearer ${SECRET}x`]) {
      const res = await dispatch(o, body, authorization === undefined ? {} : { headers: { authorization } });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        error: { message: "A valid Authorization: Bearer token is required.", type: "authentication_error", param: null, code: "unauthorized" },
      });
      expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
    }
    const ok = await dispatch(o, body, { headers: { authorization: `Bearer ${SECRET}` } });
    expect(ok.status).toBe(200);
    const lower = await dispatch(o, body, { headers: { authorization: `bearer ${SECRET}` } });
    expect(lower.status).toBe(200);
  });

  test("a secret that could never arrive as a Bearer token stops the server at start, unquoted", async () => {
    const error = await startTestOrchestrator({ dispatchSecret: "two words" }).then(
      (o) => o.close().then(() => undefined),
      (e: unknown) => e,
    );
    expect(isBasisError(error) && error.code).toBe("secret_malformed");
    expect(String((error as Error).message)).toContain("BASIS_ORCHESTRATOR_SECRET");
    expect(String((error as Error).message)).not.toContain("two words");
  });
});

describe("routing and bodies", () => {
  test("an unknown path is 404, another method on a known path 405, a trailing slash still routes", async () => {
    orchestrator = await startTestOrchestrator();
    const missing = await fetch(`${orchestrator.url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "not_found" });
    const wrong = await fetch(`${orchestrator.url}/api/workers/market`, { method: "DELETE" });
    expect(wrong.status).toBe(405);
    expect(await wrong.json()).toEqual({ error: "method_not_allowed" });
    // Under /v1 the same refusals come in OpenAI's shape.
    const openAI = await fetch(`${orchestrator.url}/v1/dispatch`);
    expect(openAI.status).toBe(405);
    expect(await openAICode(openAI)).toBe("method_not_allowed");
    const slash = await fetch(`${orchestrator.url}/healthz/`);
    expect(slash.status).toBe(200);
    expect(slash.headers.get("cache-control")).toBe("no-store");
  });

  test("a body over 1 MiB is refused with 413, declared or chunked, and bad JSON is 400", async () => {
    orchestrator = await startTestOrchestrator();
    const big = JSON.stringify({ model: "m", messages: [{ role: "user", content: "x".repeat(1 << 20) }] });
    const declared = await fetch(`${orchestrator.url}/v1/dispatch`, { method: "POST", body: big, headers: { "content-type": "application/json" } });
    expect(declared.status).toBe(413);
    expect(await openAICode(declared)).toBe("body_too_large");
    const bytes = new TextEncoder().encode(big);
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.length; at += 65_536) controller.enqueue(bytes.slice(at, at + 65_536));
        controller.close();
      },
    });
    const streamed = await fetch(`${orchestrator.url}/api/workers/register`, { method: "POST", body: chunked, headers: { "content-type": "application/json" } });
    expect(streamed.status).toBe(413);
    const raw = await rawRequest(orchestrator, "POST /v1/dispatch HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{nope");
    expect(raw).toStartWith("HTTP/1.1 400");
    expect(raw).toContain('"code":"invalid_json"');
  });

  test("the internal API answers 403 while INTERNAL_API_SECRET is unset", async () => {
    orchestrator = await startTestOrchestrator();
    const res = await fetch(`${orchestrator.url}/api/workers/w1/verification`, { method: "POST" });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe("internal_api_disabled");
  });
});

describe("dispatch over Hono", () => {
  test("a stream comes as server-sent events with the worker headers, ending in [DONE]", async () => {
    const o = await withWorker();
    const res = await dispatch(o, { model: "basis-default", messages, max_tokens: 5, stream: true, stream_options: { include_usage: true } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-basis-worker-id")).toBe("test-worker");
    expect(res.headers.get("x-basis-job-id")).toMatch(/^job_[0-9a-f]{24}$/);
    const decoder = createSseDecoder();
    const events = [...decoder.push(await res.text()), ...decoder.flush()].map((e) => e.data);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data) as { id: string; choices: { delta: { role?: string } }[]; usage?: unknown });
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 2, completion_tokens: 5, total_tokens: 7 });
  });

  test("a stream no worker can take is a plain JSON error, not an event stream", async () => {
    orchestrator = await startTestOrchestrator();
    const res = await dispatch(orchestrator, { model: "basis-default", messages, stream: true });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toStartWith("application/json");
    expect(await openAICode(res)).toBe("model_not_found");
  });

  test("a worker that fails the job is a 502 naming the worker's error code", async () => {
    const o = await withWorker({}, new ScriptedRuntime("fail"));
    const res = await dispatch(o, { model: "basis-default", messages });
    expect(res.status).toBe(502);
    const body = (await res.json()) as { error: { code: string; worker_error: string } };
    expect(body.error.code).toBe("worker_failed");
    expect(body.error.worker_error).toBe("backend_error");
  });

  test("a streaming client that goes away cancels the job on its worker", async () => {
    const runtime = new ScriptedRuntime("hold");
    const o = await withWorker({}, runtime);
    const client = new AbortController();
    const res = await dispatch(o, { model: "basis-default", messages, stream: true }, { signal: client.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await reader.read();
    client.abort();
    await waitUntil("upstream aborted", () => runtime.aborted === 1);
  });
});
