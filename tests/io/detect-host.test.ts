import { afterEach, describe, expect, test } from "bun:test";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { CommandOutput } from "../../lib/core/detect/host-facts.ts";
import { detectHost, gatherHostFacts } from "../../lib/io/detect-host.ts";
import { exited, readFixture, replayCommands } from "../fixtures/detect/recorded.ts";
import { startLlamaServer } from "../helpers/llama-server.ts";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))));
});

/** A fake backend on 127.0.0.1 port 0 that answers the given paths with JSON (200) or a status. */
async function serve(routes: Record<string, string | number>): Promise<string> {
  const server = createServer((request, response) => {
    const route = routes[request.url ?? ""];
    if (route === undefined) response.writeHead(404).end("404 page not found");
    else if (typeof route === "number") response.writeHead(route).end();
    else response.writeHead(200, { "content-type": "application/json; charset=utf-8" }).end(route);
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A URL on which nothing listens: bind port 0, note the port, close it. */
async function closedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return `http://127.0.0.1:${port}`;
}

describe("detectHost", () => {
  test("runs for real on this machine, finishes in under 3 s and recommends echo", async () => {
    const started = performance.now();
    const report = await detectHost({ ollamaUrl: await closedUrl(), vllmUrl: await closedUrl(), llamacppUrl: await closedUrl() });
    expect(performance.now() - started).toBeLessThan(3000);
    expect(report.os).toBe(process.platform);
    expect(report.arch).toBe(process.arch);
    expect(report.runtime).toBe("echo");
    expect(report.next[0]).toContain("--runtime echo");
    expect(report.ollama.running).toBe(false);
    expect(report.missing.some((line) => line.startsWith("Ollama:"))).toBe(true);
  });

  test("detects an Ollama answering on a real socket and recommends it", async () => {
    const ollamaUrl = await serve({
      "/api/version": readFixture("ollama-version.json"),
      "/api/tags": readFixture("ollama-tags.json"),
    });
    const report = await detectHost({ ollamaUrl, vllmUrl: await closedUrl(), llamacppUrl: await closedUrl(), exec: replayCommands({}) });
    expect(report.ollama).toEqual({ url: ollamaUrl, running: true, version: "0.5.1", models: ["llama3.2:latest", "qwen2.5:7b"] });
    expect(report.runtime).toBe("ollama");
    expect(report.next[0]).toContain("--runtime ollama");
  });

  test("detects a vLLM answering on a real socket", async () => {
    const vllmUrl = await serve({ "/health": 200, "/v1/models": readFixture("vllm-models.json") });
    const report = await detectHost({ ollamaUrl: await closedUrl(), vllmUrl, llamacppUrl: await closedUrl(), exec: replayCommands({}) });
    expect(report.vllm).toMatchObject({ running: true, healthy: true, models: ["mistralai/Mistral-7B-Instruct-v0.3"] });
    expect(report.runtime).toBe("vllm");
  });

  test("detects the real llama.cpp server (make engine) with its model, context per slot and slots", async () => {
    const engine = await startLlamaServer({ alias: "tiny-llama", slots: 2, contextSize: 8192 });
    try {
      const report = await detectHost({ ollamaUrl: await closedUrl(), vllmUrl: await closedUrl(), llamacppUrl: engine.url, exec: replayCommands({}) });
      expect(report.llamacpp).toEqual({ url: engine.url, running: true, healthy: true, models: ["tiny-llama"], context_size: 4096, slots: 2 });
      expect(report.runtime).toBe("llamacpp");
      expect(report.next[0]).toContain("--runtime llamacpp");
    } finally {
      await engine.stop();
    }
  });

  test("replays a recorded GPU host: two H100s and the NVIDIA Container Toolkit", async () => {
    const exec = replayCommands({
      "nvidia-smi --query-gpu=name,memory.total,memory.free,driver_version,uuid,utilization.gpu --format=csv,noheader,nounits":
        exited(0, readFixture("nvidia-smi-h100x2.csv")),
      "docker info --format {{json .Runtimes}}": exited(0, readFixture("docker-runtimes-nvidia.json")),
    });
    const report = await detectHost({ ollamaUrl: await closedUrl(), vllmUrl: await closedUrl(), llamacppUrl: await closedUrl(), exec, platform: "linux", arch: "x64" });
    expect(report.gpus.map((gpu) => gpu.name)).toEqual(["NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"]);
    expect(report.docker).toEqual({ installed: true, running: true, nvidia_runtime: true });
    expect(report.next).toContain("docker run -d --gpus all -p 11434:11434 -v ollama:/root/.ollama --name ollama ollama/ollama");
  });

  test("asks sysctl about Rosetta only on macOS", async () => {
    const mac = replayCommands({
      "sysctl -n sysctl.proc_translated": exited(0, "0\n"),
      "sysctl -n machdep.cpu.brand_string": exited(0, "Apple M1\n"),
      "sysctl -n hw.memsize": exited(0, "17179869184\n"),
    });
    const url = await closedUrl();
    const report = await detectHost({ ollamaUrl: url, vllmUrl: url, llamacppUrl: url, exec: mac, platform: "darwin", arch: "arm64" });
    expect(report).toMatchObject({ apple_silicon: true, rosetta: false });
    expect(report.gpus[0]).toMatchObject({ vendor: "apple", name: "Apple M1", memory_total_mib: 16384 });

    const linux = replayCommands({});
    await detectHost({ ollamaUrl: url, vllmUrl: url, llamacppUrl: url, exec: linux, platform: "linux", arch: "arm64" });
    expect(linux.calls.some((call) => call.startsWith("sysctl"))).toBe(false);
  });

});

describe("gatherHostFacts", () => {
  test("passes its timeout to every command", async () => {
    const seen: number[] = [];
    const url = await closedUrl();
    await gatherHostFacts({
      ollamaUrl: url,
      vllmUrl: url,
      llamacppUrl: url,
      timeoutMs: 700,
      exec: async (_cmd, _args, options) => {
        seen.push(options.timeoutMs);
        return exited(0);
      },
    });
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(new Set(seen)).toEqual(new Set([700]));
  });

  test("finishes on time even when a probe ignores its bound", async () => {
    const hang = (): Promise<never> => new Promise(() => {});
    const facts = await gatherHostFacts({
      ollamaUrl: "http://127.0.0.1:11434",
      vllmUrl: "http://127.0.0.1:8000",
      llamacppUrl: "http://127.0.0.1:8080",
      timeoutMs: 200,
      exec: hang as () => Promise<CommandOutput>,
      fetch: hang as unknown as typeof fetch,
    });
    // exec and fetch never answer: only the 200 ms bounds can end this call.
    expect(facts.nvidia.reason).toBe("nvidia-smi did not answer in time");
    expect(facts.ollama.reason).toBe("nothing answered at http://127.0.0.1:11434 in time");
    expect(facts.llamacpp.reason).toBe("nothing answered at http://127.0.0.1:8080 in time");
  });

  test("aborts a backend that accepts the connection but never answers", async () => {
    const silent = createServer(() => {});
    servers.push(silent);
    await new Promise<void>((done) => silent.listen(0, "127.0.0.1", done));
    const ollamaUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const started = performance.now();
    const facts = await gatherHostFacts({ ollamaUrl, vllmUrl: await closedUrl(), llamacppUrl: await closedUrl(), timeoutMs: 300, exec: replayCommands({}) });
    expect(performance.now() - started).toBeLessThan(1500);
    expect(facts.ollama).toMatchObject({ running: false, reason: `nothing answered at ${ollamaUrl} in time` });
    silent.closeAllConnections();
  });

  test("reports an invalid backend URL instead of throwing", async () => {
    const facts = await gatherHostFacts({ ollamaUrl: "not a url", vllmUrl: await closedUrl(), llamacppUrl: await closedUrl(), exec: replayCommands({}) });
    expect(facts.ollama.reason).toBe("not a url is not a valid URL");
  });
});
