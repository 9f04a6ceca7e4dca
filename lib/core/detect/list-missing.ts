/**
 * What a host lacks, in plain words. A machine without a GPU or Docker is normal (the echo
 * runtime needs neither), so each line says what the missing piece would be for.
 */
import type { GpuInfo, HostFacts } from "./host-facts.ts";

export function listMissing(facts: HostFacts, gpus: readonly GpuInfo[]): string[] {
  const missing: string[] = [];
  if (gpus.length === 0) missing.push(`No GPU found (${describeGpuAbsence(facts)}); the echo runtime needs none.`);
  if (facts.apple.rosetta) {
    missing.push("This process runs under Rosetta 2: install the native arm64 build for full speed.");
  }
  missing.push(...listDockerGaps(facts, gpus));
  if (!facts.ollama.running) missing.push(`Ollama: ${facts.ollama.reason ?? "not running"}.`);
  else if (facts.ollama.models.length === 0) missing.push("Ollama runs but has no models pulled.");
  if (!facts.vllm.running) missing.push(`vLLM: ${facts.vllm.reason ?? "not running"}.`);
  else if (facts.vllm.reason) missing.push(`vLLM: ${facts.vllm.reason}.`);
  if (!facts.llamacpp.running) missing.push(`llama.cpp server: ${facts.llamacpp.reason ?? "not running"}.`);
  else if (facts.llamacpp.reason) missing.push(`llama.cpp server: ${facts.llamacpp.reason}.`);
  return missing;
}

function describeGpuAbsence(facts: HostFacts): string {
  const reasons = [facts.nvidia.reason, facts.amd.reason].filter((reason) => reason !== undefined);
  return reasons.length > 0 ? reasons.join("; ") : "no GPU tool reported one";
}

function listDockerGaps(facts: HostFacts, gpus: readonly GpuInfo[]): string[] {
  const { docker } = facts;
  if (!docker.installed) return ["Docker is not installed (optional: only needed to run Ollama or vLLM in a container)."];
  if (!docker.running) return [`Docker: ${docker.reason ?? "the daemon is not running"}.`];
  const nvidia = gpus.some((gpu) => gpu.vendor === "nvidia");
  if (nvidia && !docker.nvidia_runtime) {
    return ["Docker has no nvidia runtime: install the NVIDIA Container Toolkit so `docker run --gpus all` sees the GPU."];
  }
  if (!nvidia && docker.nvidia_runtime) {
    return ["Docker lists an nvidia runtime, but nvidia-smi confirms no NVIDIA GPU (Docker Desktop lists it on any machine)."];
  }
  return [];
}
