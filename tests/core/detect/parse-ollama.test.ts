import { describe, expect, test } from "bun:test";
import type { HttpReply } from "../../../lib/core/detect/host-facts.ts";
import { readOllama } from "../../../lib/core/detect/parse-ollama.ts";
import { readFixture } from "../../fixtures/detect/recorded.ts";

const URL = "http://127.0.0.1:11434";
const ok = (body: string): HttpReply => ({ status: 200, body });
const REFUSED: HttpReply = { status: null, body: "", error: "unreachable" };

describe("readOllama", () => {
  test("reads the version and the pulled models", () => {
    expect(readOllama(URL, ok(readFixture("ollama-version.json")), ok(readFixture("ollama-tags.json")))).toEqual({
      url: URL,
      running: true,
      version: "0.5.1",
      models: ["llama3.2:latest", "qwen2.5:7b"],
    });
  });

  test("says so when Ollama runs with no models pulled", () => {
    const facts = readOllama(URL, ok(readFixture("ollama-version.json")), ok(readFixture("ollama-tags-empty.json")));
    expect(facts).toMatchObject({ running: true, models: [], reason: "Ollama has no models pulled" });
  });

  test("counts Ollama as running when only the tags answer (older servers)", () => {
    const facts = readOllama(URL, { status: 404, body: "404 page not found" }, ok(readFixture("ollama-tags.json")));
    expect(facts).toMatchObject({ running: true, version: null, models: ["llama3.2:latest", "qwen2.5:7b"] });
  });

  test("never shows the credentials of a proxied URL", () => {
    const facts = readOllama("http://ops:hunter2@gpu-box:11434", REFUSED, REFUSED);
    expect(JSON.stringify(facts)).not.toContain("hunter2");
    expect(facts.url).toBe("http://gpu-box:11434/");
  });

  test.each([
    ["nothing listening", REFUSED, `Ollama is not reachable at ${URL}`],
    ["a timeout", { status: null, body: "", error: "timeout" } as HttpReply, `nothing answered at ${URL} in time`],
    ["a bad URL", { status: null, body: "", error: "invalid_url" } as HttpReply, `${URL} is not a valid URL`],
    ["another server", { status: 404, body: "Not Found" }, `the server at ${URL} does not answer like Ollama (HTTP 404)`],
    ["a 200 that is not Ollama JSON", ok("<html>hello</html>"), `the server at ${URL} does not answer like Ollama (HTTP 200)`],
  ])("is not running with %s", (_, reply, reason) => {
    expect(readOllama(URL, reply, reply)).toEqual({ url: URL, running: false, version: null, models: [], reason });
  });
});
