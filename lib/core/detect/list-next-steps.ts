/**
 * The commands to run next. The first always works on this host today (after the wallet is
 * filled in); any after it set up a GPU backend, then re-run the check to pick it up.
 */
import type { RuntimeName } from "../protocol.ts";
import { DEFAULT_ORCHESTRATOR_URL } from "../urls.ts";
import type { GpuInfo, HostFacts } from "./host-facts.ts";
export const STARTER_MODEL = "llama3.2";

export function buildWriteEnvCommand(runtime: RuntimeName): string {
  return `basis-worker setup --write-env --wallet 0x... --runtime ${runtime} --orchestrator ${DEFAULT_ORCHESTRATOR_URL} --out ./worker.env`;
}

export function listNextSteps(facts: HostFacts, gpus: readonly GpuInfo[], runtime: RuntimeName): string[] {
  const upgrade = runtime === "echo" ? listBackendSetup(facts, gpus) : [];
  return [buildWriteEnvCommand(runtime), ...upgrade, ...(upgrade.length > 0 ? ["basis-worker setup --check"] : [])];
}

function listBackendSetup(facts: HostFacts, gpus: readonly GpuInfo[]): string[] {
  if (facts.ollama.running) return facts.ollama.models.length === 0 ? [`ollama pull ${STARTER_MODEL}`] : [];
  // A vLLM or llama.cpp server that is up but not ready is the operator's to fix; its reason is in `missing`.
  if (facts.vllm.running || facts.llamacpp.running || gpus.length === 0) return [];
  const nvidia = gpus.some((gpu) => gpu.vendor === "nvidia");
  if (nvidia && facts.docker.running && facts.docker.nvidia_runtime) {
    return [
      "docker run -d --gpus all -p 11434:11434 -v ollama:/root/.ollama --name ollama ollama/ollama",
      `docker exec ollama ollama pull ${STARTER_MODEL}`,
    ];
  }
  return [...installOllamaNatively(facts.platform), `ollama pull ${STARTER_MODEL}`];
}

function installOllamaNatively(platform: string): string[] {
  if (platform === "darwin") return ["brew install ollama && brew services start ollama"];
  if (platform === "win32") return ["winget install Ollama.Ollama"];
  return ["curl -fsSL https://ollama.com/install.sh | sh"];
}
