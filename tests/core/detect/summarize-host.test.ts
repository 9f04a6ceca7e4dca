import { describe, expect, test } from "bun:test";
import { pickRuntime, summarizeHost } from "../../../lib/core/detect/summarize-host.ts";
import { readAppleSilicon } from "../../../lib/core/detect/read-apple-silicon.ts";
import { readRocmSmi } from "../../../lib/core/detect/parse-rocm-smi.ts";
import { readLlamaCpp } from "../../../lib/core/detect/parse-llamacpp.ts";
import {
  exited,
  LLAMACPP_URL,
  readBareLinuxFacts,
  readFixture,
  readGpuHostFacts,
  readLlamaCppFacts,
  readOllamaFacts,
  readVllmFacts,
} from "../../fixtures/detect/recorded.ts";

describe("summarizeHost", () => {
  test("recommends the echo runtime on a machine with no GPU and no backend", () => {
    const report = summarizeHost(readBareLinuxFacts());
    expect(report).toMatchObject({ os: "linux", arch: "x64", gpus: [], runtime: "echo" });
    expect(report.next).toEqual([
      "basis-worker setup --write-env --wallet 0x... --runtime echo --orchestrator ws://localhost:8787 --out ./worker.env",
    ]);
    expect(report.missing).toEqual([
      "No GPU found (nvidia-smi is not installed; rocm-smi is not installed); the echo runtime needs none.",
      "Docker: the Docker daemon is not running.",
      "Ollama: Ollama is not reachable at http://127.0.0.1:11434.",
      "vLLM: vLLM is not reachable at http://127.0.0.1:8000.",
      "llama.cpp server: llama-server is not reachable at http://127.0.0.1:8080.",
    ]);
  });

  test("recommends --runtime ollama when Ollama runs with models", () => {
    const report = summarizeHost({ ...readGpuHostFacts(), ollama: readOllamaFacts() });
    expect(report.runtime).toBe("ollama");
    expect(report.next).toEqual([
      "basis-worker setup --write-env --wallet 0x... --runtime ollama --orchestrator ws://localhost:8787 --out ./worker.env",
    ]);
    expect(report.gpus).toHaveLength(2);
    expect(report.missing.join("\n")).not.toContain("Ollama");
  });

  test("recommends --runtime vllm when a healthy vLLM serves a model", () => {
    const report = summarizeHost({ ...readGpuHostFacts(), vllm: readVllmFacts() });
    expect(report.runtime).toBe("vllm");
    expect(report.next[0]).toContain("--runtime vllm");
  });

  test("recommends --runtime llamacpp when a healthy llama-server serves a model, after Ollama and vLLM", () => {
    const report = summarizeHost({ ...readGpuHostFacts(), llamacpp: readLlamaCppFacts() });
    expect(report.runtime).toBe("llamacpp");
    expect(report.next).toEqual(["basis-worker setup --write-env --wallet 0x... --runtime llamacpp --orchestrator ws://localhost:8787 --out ./worker.env"]);
    expect(report.llamacpp).toMatchObject({ running: true, healthy: true, models: ["tiny-llama"], context_size: 2048, slots: 2 });
    expect(summarizeHost({ ...readGpuHostFacts(), vllm: readVllmFacts(), llamacpp: readLlamaCppFacts() }).runtime).toBe("vllm");
  });

  test("a llama-server still loading its model is reported, not recommended, and no other backend is proposed", () => {
    const loading = readLlamaCpp(LLAMACPP_URL, { status: 503, body: readFixture("llamacpp-health-loading.json") }, { status: 503, body: "" }, { status: 503, body: "" });
    const report = summarizeHost({ ...readGpuHostFacts(), llamacpp: loading });
    expect(report.runtime).toBe("echo");
    expect(report.missing).toContain("llama.cpp server: llama-server answers but /health fails (still loading the model, or it failed to).");
    expect(report.next).toHaveLength(1);
  });

  test("on a GPU host with the Container Toolkit, proposes Ollama in Docker after the echo smoke test", () => {
    const report = summarizeHost(readGpuHostFacts());
    expect(report.runtime).toBe("echo");
    expect(report.next).toEqual([
      "basis-worker setup --write-env --wallet 0x... --runtime echo --orchestrator ws://localhost:8787 --out ./worker.env",
      "docker run -d --gpus all -p 11434:11434 -v ollama:/root/.ollama --name ollama ollama/ollama",
      "docker exec ollama ollama pull llama3.2",
      "basis-worker setup --check",
    ]);
  });

  test("asks for the NVIDIA Container Toolkit when Docker lacks the nvidia runtime", () => {
    const report = summarizeHost({ ...readGpuHostFacts(), docker: { installed: true, running: true, nvidia_runtime: false } });
    expect(report.missing.some((line) => line.includes("NVIDIA Container Toolkit"))).toBe(true);
    expect(report.next[1]).toBe("curl -fsSL https://ollama.com/install.sh | sh");
  });

  test("does not trust an nvidia runtime that nvidia-smi cannot confirm", () => {
    const report = summarizeHost({ ...readBareLinuxFacts(), docker: { installed: true, running: true, nvidia_runtime: true } });
    expect(report.gpus).toEqual([]);
    expect(report.runtime).toBe("echo");
    expect(report.missing.some((line) => line.includes("nvidia-smi confirms no NVIDIA GPU"))).toBe(true);
  });

  test("asks to pull a model when Ollama runs with none", () => {
    const report = summarizeHost({ ...readBareLinuxFacts(), ollama: readOllamaFacts("ollama-tags-empty.json") });
    expect(report.runtime).toBe("echo");
    expect(report.missing).toContain("Ollama runs but has no models pulled.");
    expect(report.next.slice(1)).toEqual(["ollama pull llama3.2", "basis-worker setup --check"]);
  });

  test("lists AMD GPUs and proposes a native Ollama", () => {
    const amd = readRocmSmi(exited(0, readFixture("rocm-smi-product.json")), exited(0, readFixture("rocm-smi-meminfo.json")));
    const report = summarizeHost({ ...readBareLinuxFacts(), amd });
    expect(report.gpus.map((gpu) => gpu.vendor)).toEqual(["amd", "amd"]);
    expect(report.next).toContain("curl -fsSL https://ollama.com/install.sh | sh");
  });

  test("counts Apple Silicon as a GPU, proposes Homebrew Ollama and flags Rosetta", () => {
    const apple = readAppleSilicon("darwin", "x64", { translated: exited(0, "1\n"), brand: exited(0, "Apple M3 Max\n") });
    const report = summarizeHost({ ...readBareLinuxFacts(), platform: "darwin", arch: "x64", apple });
    expect(report).toMatchObject({ apple_silicon: true, rosetta: true });
    expect(report.gpus.map((gpu) => gpu.name)).toEqual(["Apple M3 Max"]);
    expect(report.next).toContain("brew install ollama && brew services start ollama");
    expect(report.missing.some((line) => line.includes("Rosetta"))).toBe(true);
  });
});

describe("pickRuntime", () => {
  test("prefers Ollama when both backends are ready", () => {
    expect(pickRuntime({ ...readBareLinuxFacts(), ollama: readOllamaFacts(), vllm: readVllmFacts() })).toBe("ollama");
  });

  test("does not pick a vLLM whose /health fails", () => {
    const vllm = { ...readVllmFacts(), healthy: false };
    expect(pickRuntime({ ...readBareLinuxFacts(), vllm })).toBe("echo");
  });
});
