import { describe, expect, test } from "bun:test";
import type { HttpReply } from "../../../lib/core/detect/host-facts.ts";
import { parseLlamaCppProps, readLlamaCpp } from "../../../lib/core/detect/parse-llamacpp.ts";
import { readFixture } from "../../fixtures/detect/recorded.ts";

const URL = "http://127.0.0.1:8080";
const ok = (name: string): HttpReply => ({ status: 200, body: readFixture(name) });
const HEALTHY = ok("llamacpp-health.json");
const MODELS = ok("llamacpp-models.json");
const PROPS = ok("llamacpp-props.json");
const LOADING: HttpReply = { status: 503, body: readFixture("llamacpp-health-loading.json") };
const UNAUTHORIZED: HttpReply = { status: 401, body: readFixture("llamacpp-unauthorized.json") };
const REFUSED: HttpReply = { status: null, body: "", error: "unreachable" };

describe("readLlamaCpp (replies recorded from the real llama-server)", () => {
  test("reads a ready server: its model, the context per slot and the slot count", () => {
    expect(readLlamaCpp(URL, HEALTHY, MODELS, PROPS)).toEqual({
      url: URL,
      running: true,
      healthy: true,
      models: ["tiny-llama"],
      context_size: 2048,
      slots: 2,
    });
  });

  test("reports a server still loading its model: running, not healthy, nothing listed yet", () => {
    const facts = readLlamaCpp(URL, LOADING, LOADING, LOADING);
    expect(facts).toMatchObject({ running: true, healthy: false, models: [], context_size: null, slots: null });
    expect(facts.reason).toBe("llama-server answers but /health fails (still loading the model, or it failed to)");
  });

  test("points at BASIS_LLAMACPP_API_KEY when the server was started with --api-key", () => {
    const facts = readLlamaCpp(URL, HEALTHY, UNAUTHORIZED, UNAUTHORIZED);
    expect(facts).toMatchObject({ running: true, healthy: true, models: [], context_size: null });
    expect(facts.reason).toContain("BASIS_LLAMACPP_API_KEY");
  });

  test("strips credentials from the URL it shows", () => {
    expect(readLlamaCpp("http://user:pass@127.0.0.1:8080", HEALTHY, MODELS, PROPS).url).toBe("http://127.0.0.1:8080/");
  });

  test.each([
    ["nothing listening", REFUSED, REFUSED, REFUSED, `llama-server is not reachable at ${URL}`],
    ["a timeout", { status: null, body: "", error: "timeout" } as HttpReply, REFUSED, REFUSED, `nothing answered at ${URL} in time`],
    ["vLLM on this port (empty /health, no /props)", { status: 200, body: "" }, { status: 200, body: readFixture("vllm-models.json") }, { status: 404, body: "" }, `the server at ${URL} does not answer like llama-server (HTTP 200)`],
    ["a 503 that is not llama-server's loading reply", { status: 503, body: "busy" }, REFUSED, REFUSED, `the server at ${URL} does not answer like llama-server (HTTP 503)`],
    ["a web server answering 404", { status: 404, body: "" }, { status: 404, body: "" }, { status: 404, body: "" }, `the server at ${URL} does not answer like llama-server (HTTP 404)`],
  ])("is not running with %s", (_, health, models, props, reason) => {
    expect(readLlamaCpp(URL, health, models, props)).toEqual({ url: URL, running: false, healthy: false, models: [], context_size: null, slots: null, reason });
  });
});

describe("parseLlamaCppProps", () => {
  test("reads n_ctx and total_slots from the recorded /props", () => {
    expect(parseLlamaCppProps(JSON.parse(readFixture("llamacpp-props.json")))).toEqual({ contextSize: 2048, slots: 2 });
  });

  test.each([
    ["no default_generation_settings", { total_slots: 2 }],
    ["a zero context", { default_generation_settings: { n_ctx: 0 }, total_slots: 1 }],
    ["a fractional context", { default_generation_settings: { n_ctx: 1.5 } }],
    ["a string", "n_ctx: 2048"],
    ["null", null],
  ])("refuses %s", (_, body) => {
    expect(parseLlamaCppProps(body)).toBeUndefined();
  });

  test("keeps the context when total_slots is absent", () => {
    expect(parseLlamaCppProps({ default_generation_settings: { n_ctx: 4096 } })).toEqual({ contextSize: 4096, slots: undefined });
  });
});
