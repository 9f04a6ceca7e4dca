/**
 * The `setup --check` report as short text for people: an aligned table, then what is missing
 * and what to run next. The --json form prints the report itself.
 */
import type { DockerFacts, GpuInfo, HostReport, LlamaCppFacts, OllamaFacts, VllmFacts } from "./host-facts.ts";

const MODELS_SHOWN = 3;

export function formatHostTable(report: HostReport): string {
  const rows: [string, string][] = [["OS", describeOs(report)]];
  if (report.gpus.length === 0) rows.push(["GPU", "none"]);
  report.gpus.forEach((gpu, index) => rows.push([report.gpus.length === 1 ? "GPU" : `GPU ${index}`, describeGpu(gpu)]));
  rows.push(["Docker", describeDocker(report.docker)]);
  rows.push(["Ollama", describeOllama(report.ollama)]);
  rows.push(["vLLM", describeVllm(report.vllm)]);
  rows.push(["llama.cpp", describeLlamaCpp(report.llamacpp)]);
  rows.push(["Runtime", `${report.runtime} (recommended)`]);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const lines = rows.map(([label, value]) => label.padEnd(width) + value);
  if (report.missing.length > 0) lines.push("", "Missing:", ...report.missing.map((item) => `  - ${item}`));
  if (report.next.length > 0) lines.push("", "Next:", ...report.next.map((command) => `  ${command}`));
  return lines.join("\n");
}

function describeOs(report: HostReport): string {
  const name = { linux: "Linux", darwin: "macOS", win32: "Windows" }[report.os] ?? report.os;
  const chip = report.apple_silicon ? (report.rosetta ? ", Apple Silicon (under Rosetta)" : ", Apple Silicon") : "";
  return `${name} ${report.arch}${chip}`;
}

function describeGpu(gpu: GpuInfo): string {
  const parts = [gpu.name];
  if (gpu.memory_total_mib !== null) {
    const free = gpu.memory_free_mib === null ? "" : ` (${gpu.memory_free_mib} MiB free)`;
    parts.push(`${gpu.memory_total_mib} MiB${gpu.vendor === "apple" ? " unified" : ""}${free}`);
  }
  if (gpu.driver !== null) parts.push(`driver ${gpu.driver}`);
  return parts.join(", ");
}

function describeDocker(docker: DockerFacts): string {
  if (!docker.installed) return "not installed";
  if (!docker.running) return `installed, ${docker.reason ?? "daemon not running"}`;
  return `running, nvidia runtime: ${docker.nvidia_runtime ? "yes" : "no"}`;
}

function describeOllama(ollama: OllamaFacts): string {
  if (!ollama.running) return `not running (${ollama.url})`;
  const version = ollama.version === null ? "" : ` ${ollama.version}`;
  return `running${version} at ${ollama.url}, ${describeModels(ollama.models)}`;
}

function describeVllm(vllm: VllmFacts): string {
  if (!vllm.running) return `not running (${vllm.url})`;
  return `${vllm.healthy ? "healthy" : "unhealthy"} at ${vllm.url}, ${describeModels(vllm.models)}`;
}

function describeLlamaCpp(llama: LlamaCppFacts): string {
  if (!llama.running) return `not running (${llama.url})`;
  const context = llama.context_size === null ? "" : `, context ${llama.context_size} tokens per slot`;
  const slots = llama.slots === null ? "" : `, ${llama.slots} slot${llama.slots === 1 ? "" : "s"}`;
  return `${llama.healthy ? "healthy" : "unhealthy"} at ${llama.url}, ${describeModels(llama.models)}${context}${slots}`;
}

function describeModels(models: readonly string[]): string {
  if (models.length === 0) return "no models";
  const shown = models.slice(0, MODELS_SHOWN).join(", ");
  const more = models.length > MODELS_SHOWN ? `, +${models.length - MODELS_SHOWN} more` : "";
  return `${models.length} model${models.length === 1 ? "" : "s"}: ${shown}${more}`;
}
