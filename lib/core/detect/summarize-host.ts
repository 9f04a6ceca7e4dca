/**
 * Turns detected facts into the `setup --check` report: the GPUs, each backend's state, the
 * runtime that works here now, what is missing and what to run next. Pure, so every host
 * shape is testable from recorded tool output.
 */
import type { RuntimeName } from "../protocol.ts";
import type { HostFacts, HostReport } from "./host-facts.ts";
import { listMissing } from "./list-missing.ts";
import { listNextSteps } from "./list-next-steps.ts";

export function summarizeHost(facts: HostFacts): HostReport {
  const gpus = [...facts.nvidia.gpus, ...facts.amd.gpus, ...(facts.apple.gpu ? [facts.apple.gpu] : [])];
  const runtime = pickRuntime(facts);
  return {
    os: facts.platform,
    arch: facts.arch,
    apple_silicon: facts.apple.appleSilicon,
    rosetta: facts.apple.rosetta,
    gpus,
    docker: facts.docker,
    ollama: facts.ollama,
    vllm: facts.vllm,
    llamacpp: facts.llamacpp,
    runtime,
    missing: listMissing(facts, gpus),
    next: listNextSteps(facts, gpus, runtime),
  };
}

/** Ollama first (the simplest verified path), then vLLM, then llama-server; echo whenever no backend is ready. */
export function pickRuntime(facts: HostFacts): RuntimeName {
  if (facts.ollama.running && facts.ollama.models.length > 0) return "ollama";
  if (facts.vllm.running && facts.vllm.healthy && facts.vllm.models.length > 0) return "vllm";
  if (facts.llamacpp.running && facts.llamacpp.healthy && facts.llamacpp.models.length > 0) return "llamacpp";
  return "echo";
}
