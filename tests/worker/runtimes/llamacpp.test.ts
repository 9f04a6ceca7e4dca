/**
 * LlamaCppRuntime against the real llama-server (`make engine`) with the tiny model; a small
 * Bun.serve stands in only for what the real one cannot be made to do on cue (a model still
 * loading, a server without /props).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { LlamaCppRuntime } from "../../../lib/worker/runtimes/llamacpp.ts";
import { catchFailure, startDeadUrl } from "../../fakes/helpers.ts";
import { readFixture } from "../../fixtures/detect/recorded.ts";
import { type LlamaServer, startLlamaServer } from "../../helpers/llama-server.ts";

const API_KEY = "llama-test-key-3c9a";
let open: LlamaServer;
let locked: LlamaServer;

beforeAll(async () => {
  [open, locked] = await Promise.all([
    startLlamaServer({ alias: "tiny-llama", slots: 2, contextSize: 4096 }),
    startLlamaServer({ alias: "tiny-llama", slots: 1, contextSize: 1024, extraArgs: ["--api-key", API_KEY] }),
  ]);
});
afterAll(async () => {
  await Promise.all([open?.stop(), locked?.stop()]);
});

const runtime = (baseUrl: string, extra: { model?: string; apiKey?: string } = {}) =>
  new LlamaCppRuntime({ baseUrl, model: extra.model ?? "tiny-llama", ...(extra.apiKey ? { apiKey: extra.apiKey } : {}) });

describe("LlamaCppRuntime", () => {
  test("is the OpenAI-compatible bridge named llamacpp, defaulting to llama-server's port 8080", () => {
    const bridge = new LlamaCppRuntime({ baseUrl: "", model: "m" });
    expect(bridge.name).toBe("llamacpp");
    expect(bridge.baseUrl).toBe("http://127.0.0.1:8080");
  });
});

describe("LlamaCppRuntime.check", () => {
  test("passes and reads the context per slot and the slot count from /props", async () => {
    const bridge = runtime(open.url);
    await bridge.check();
    expect(bridge.props).toEqual({ contextSize: 2048, slots: 2 });
    expect(bridge.startNotes(2)).toEqual([{ level: "info", message: "llama-server: context 2048 tokens per slot, 2 slots" }]);
  });

  test("accepts the base URL with /v1, as OpenAI-style URLs are often quoted", async () => {
    const bridge = runtime(`${open.url}/v1`);
    await bridge.check();
    expect(bridge.props?.contextSize).toBe(2048);
  });

  test("warns when the worker would take more jobs at once than the engine has slots", async () => {
    const bridge = runtime(open.url);
    await bridge.check();
    expect(bridge.startNotes(4)[1]).toEqual({
      level: "warn",
      message: "BASIS_WORKER_CONCURRENCY=4 is more than llama-server's 2 slots: jobs beyond that queue inside the engine; start it with -np 4 or lower the concurrency",
    });
  });

  test("fails with model_missing naming the --alias fix and what the engine serves", async () => {
    const failure = await catchFailure(runtime(open.url, { model: "llama3.2" }).check());
    expect(failure.code).toBe("model_missing");
    expect(failure.message).toBe(`llama-server at ${open.url} does not serve the model "llama3.2".`);
    expect(failure.hint).toBe(
      "Start llama-server with `--alias llama3.2` or set BASIS_LLAMACPP_MODEL to the id GET /v1/models lists. It serves: tiny-llama.",
    );
  });

  test("fails with backend_unreachable and how to start llama-server when nothing listens", async () => {
    const url = await startDeadUrl();
    const failure = await catchFailure(runtime(url).check());
    expect(failure.code).toBe("backend_unreachable");
    expect(failure.message).toBe(`Cannot reach llama-server at ${url}.`);
    expect(failure.hint).toContain("llama-server -m MODEL.gguf --alias NAME --port 8080");
    expect(failure.hint).toContain("BASIS_LLAMACPP_URL");
  });

  test("fails with backend_unhealthy while the engine is still loading its model", async () => {
    const loading = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => new Response(readFixture("llamacpp-health-loading.json"), { status: 503, headers: { "content-type": "application/json" } }),
    });
    try {
      const url = `http://127.0.0.1:${loading.port}`;
      const failure = await catchFailure(runtime(url).check());
      expect(failure.code).toBe("backend_unhealthy");
      expect(failure.message).toBe(`llama-server at ${url} answered /health with HTTP 503.`);
      expect(failure.hint).toContain("still loading the model");
    } finally {
      await loading.stop(true);
    }
  });

  test("with --api-key on the engine: the right key passes and reads /props, a wrong one names BASIS_LLAMACPP_API_KEY", async () => {
    const good = runtime(locked.url, { apiKey: API_KEY });
    await good.check();
    expect(good.props).toEqual({ contextSize: 1024, slots: 1 });
    const failure = await catchFailure(runtime(locked.url, { apiKey: "wrong-key-123" }).check());
    expect(failure.code).toBe("backend_auth_failed");
    expect(failure.hint).toBe("Check BASIS_LLAMACPP_API_KEY.");
    expect(JSON.stringify(failure)).not.toContain("wrong-key-123");
  });

  test("a server without /props still passes; the notes say the context is unknown", async () => {
    const plain = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (request) => {
        const path = new URL(request.url).pathname;
        if (path === "/health") return Response.json({ status: "ok" });
        if (path === "/v1/models") return Response.json({ object: "list", data: [{ id: "tiny-llama", object: "model" }] });
        return new Response("not found", { status: 404 });
      },
    });
    try {
      const bridge = runtime(`http://127.0.0.1:${plain.port}`);
      await bridge.check();
      expect(bridge.props).toBeUndefined();
      expect(bridge.startNotes(1)).toEqual([{ level: "info", message: "llama-server: /props did not answer; context size unknown" }]);
    } finally {
      await plain.stop(true);
    }
  });
});

describe("LlamaCppRuntime.run and healthy", () => {
  test("answers with the engine's own counts and finish reason", async () => {
    const deltas: string[] = [];
    const result = await runtime(open.url).run(
      { model: "tiny-llama", messages: [{ role: "user", content: "Hi" }], max_tokens: 12, temperature: 0 },
      { signal: new AbortController().signal, onDelta: (delta) => deltas.push(typeof delta === "string" ? delta : String((delta as { content?: string }).content ?? "")) },
    );
    expect(result.finish_reason).toBe("length");
    expect(result.usage.completion_tokens).toBe(12);
    expect(result.usage.prompt_tokens).toBeGreaterThan(1);
    expect(deltas.join("")).toBe(result.text);
  });

  test("healthy() follows the engine: true while it runs, false once it is gone", async () => {
    const engine = await startLlamaServer({ alias: "tiny-llama", slots: 1, contextSize: 512 });
    const bridge = runtime(engine.url);
    expect(await bridge.healthy()).toBe(true);
    await engine.kill();
    expect(await bridge.healthy()).toBe(false);
  });
});
