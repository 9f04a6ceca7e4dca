import { describe, expect, test } from "bun:test";
import type { HttpReply } from "../../../lib/core/detect/host-facts.ts";
import { readVllm } from "../../../lib/core/detect/parse-vllm.ts";
import { readFixture } from "../../fixtures/detect/recorded.ts";

const URL = "http://127.0.0.1:8000";
const HEALTHY: HttpReply = { status: 200, body: "" };
const REFUSED: HttpReply = { status: null, body: "", error: "unreachable" };

describe("readVllm", () => {
  test("reads a healthy server and its model ids", () => {
    expect(readVllm(URL, HEALTHY, { status: 200, body: readFixture("vllm-models.json") })).toEqual({
      url: URL,
      running: true,
      healthy: true,
      models: ["mistralai/Mistral-7B-Instruct-v0.3"],
    });
  });

  test("reports a server whose engine died (503 on /health)", () => {
    const facts = readVllm(URL, { status: 503, body: "" }, { status: 200, body: readFixture("vllm-models.json") });
    expect(facts).toMatchObject({ running: true, healthy: false });
    expect(facts.reason).toContain("/health fails");
  });

  test("points at BASIS_VLLM_API_KEY when the model list needs a key", () => {
    const facts = readVllm(URL, HEALTHY, { status: 401, body: '{"error":"Unauthorized"}' });
    expect(facts).toMatchObject({ running: true, healthy: true, models: [] });
    expect(facts.reason).toContain("BASIS_VLLM_API_KEY");
  });

  test.each([
    ["nothing listening", REFUSED, REFUSED, `vLLM is not reachable at ${URL}`],
    ["a server without /health or a model list", { status: 404, body: "" }, { status: 404, body: "" }, `the server at ${URL} does not answer like vLLM (HTTP 404)`],
    ["a model list that is not OpenAI JSON", { status: 404, body: "" }, { status: 200, body: "[]" }, `the server at ${URL} does not answer like vLLM (HTTP 404)`],
  ])("is not running with %s", (_, health, models, reason) => {
    expect(readVllm(URL, health, models)).toEqual({ url: URL, running: false, healthy: false, models: [], reason });
  });
});
