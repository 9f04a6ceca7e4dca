import { describe, expect, test } from "bun:test";
import { formatHostTable } from "../../../lib/core/detect/format-host-table.ts";
import { summarizeHost } from "../../../lib/core/detect/summarize-host.ts";
import { readBareLinuxFacts, readGpuHostFacts, readLlamaCppFacts, readOllamaFacts, readVllmFacts } from "../../fixtures/detect/recorded.ts";

describe("formatHostTable", () => {
  test("prints an aligned table, then what is missing and what to run next", () => {
    const text = formatHostTable(summarizeHost(readBareLinuxFacts()));
    expect(text).toBe(
      [
        "OS         Linux x64",
        "GPU        none",
        "Docker     installed, the Docker daemon is not running",
        "Ollama     not running (http://127.0.0.1:11434)",
        "vLLM       not running (http://127.0.0.1:8000)",
        "llama.cpp  not running (http://127.0.0.1:8080)",
        "Runtime    echo (recommended)",
        "",
        "Missing:",
        "  - No GPU found (nvidia-smi is not installed; rocm-smi is not installed); the echo runtime needs none.",
        "  - Docker: the Docker daemon is not running.",
        "  - Ollama: Ollama is not reachable at http://127.0.0.1:11434.",
        "  - vLLM: vLLM is not reachable at http://127.0.0.1:8000.",
        "  - llama.cpp server: llama-server is not reachable at http://127.0.0.1:8080.",
        "",
        "Next:",
        "  basis-worker setup --write-env --wallet 0x... --runtime echo --orchestrator ws://localhost:8787 --out ./worker.env",
      ].join("\n"),
    );
  });

  test("numbers several GPUs and shows memory, driver and backends", () => {
    const text = formatHostTable(summarizeHost({ ...readGpuHostFacts(), ollama: readOllamaFacts(), vllm: readVllmFacts(), llamacpp: readLlamaCppFacts() }));
    const lines = text.split("\n");
    expect(lines).toContain("GPU 0      NVIDIA H100 80GB HBM3, 81559 MiB (81004 MiB free), driver 550.54.15");
    expect(lines).toContain("GPU 1      NVIDIA H100 80GB HBM3, 81559 MiB (40212 MiB free), driver 550.54.15");
    expect(lines).toContain("Docker     running, nvidia runtime: yes");
    expect(lines).toContain("Ollama     running 0.5.1 at http://127.0.0.1:11434, 2 models: llama3.2:latest, qwen2.5:7b");
    expect(lines).toContain("vLLM       healthy at http://127.0.0.1:8000, 1 model: mistralai/Mistral-7B-Instruct-v0.3");
    expect(lines).toContain("llama.cpp  healthy at http://127.0.0.1:8080, 1 model: tiny-llama, context 2048 tokens per slot, 2 slots");
    expect(lines).toContain("Runtime    ollama (recommended)");
    expect(text).not.toContain("Missing:");
  });

  test("shortens a long model list", () => {
    const ollama = { ...readOllamaFacts(), models: ["a", "b", "c", "d", "e"] };
    const text = formatHostTable(summarizeHost({ ...readBareLinuxFacts(), ollama }));
    expect(text).toContain("5 models: a, b, c, +2 more");
  });
});
