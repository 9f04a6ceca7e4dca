import { describe, expect, test } from "bun:test";
import { buildWriteEnvCommand, listNextSteps } from "../../../lib/core/detect/list-next-steps.ts";
import { readBareLinuxFacts, readGpuHostFacts } from "../../fixtures/detect/recorded.ts";

describe("buildWriteEnvCommand", () => {
  test.each(["echo", "ollama", "vllm", "openai"] as const)("names the %s runtime", (runtime) => {
    expect(buildWriteEnvCommand(runtime)).toBe(
      `basis-worker setup --write-env --wallet 0x... --runtime ${runtime} --orchestrator ws://localhost:8787 --out ./worker.env`,
    );
  });
});

describe("listNextSteps", () => {
  test("gives only the write-env command when nothing can be improved", () => {
    expect(listNextSteps(readBareLinuxFacts(), [], "echo")).toEqual([buildWriteEnvCommand("echo")]);
  });

  test("adds no backend setup once a backend is ready", () => {
    const facts = readGpuHostFacts();
    expect(listNextSteps(facts, facts.nvidia.gpus, "ollama")).toEqual([buildWriteEnvCommand("ollama")]);
  });

  test.each([
    ["macOS", "darwin", "brew install ollama && brew services start ollama"],
    ["Windows", "win32", "winget install Ollama.Ollama"],
    ["Linux", "linux", "curl -fsSL https://ollama.com/install.sh | sh"],
  ])("installs Ollama the %s way when there is a GPU but no container toolkit", (_, platform, install) => {
    const facts = { ...readGpuHostFacts(), platform, docker: { installed: false, running: false, nvidia_runtime: false } };
    expect(listNextSteps(facts, facts.nvidia.gpus, "echo")).toEqual([
      buildWriteEnvCommand("echo"),
      install,
      "ollama pull llama3.2",
      "basis-worker setup --check",
    ]);
  });
});
