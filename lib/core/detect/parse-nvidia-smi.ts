/**
 * Reads `nvidia-smi --query-gpu=name,memory.total,memory.free,driver_version,uuid,utilization.gpu
 * --format=csv,noheader,nounits`: one line per GPU, fields split by ", ". A failed run becomes a
 * reason in plain words, because a machine without a working NVIDIA stack is normal.
 */
import type { CommandOutput, GpuInfo, GpuProbe } from "./host-facts.ts";

export const NVIDIA_SMI_ARGS = [
  "--query-gpu=name,memory.total,memory.free,driver_version,uuid,utilization.gpu",
  "--format=csv,noheader,nounits",
] as const;

const FIELDS_AFTER_NAME = 5;

/** Exit codes nvidia-smi documents for a broken or absent stack. */
const EXIT_REASONS: Record<number, string> = {
  6: "nvidia-smi found no GPU it could query",
  9: "the NVIDIA driver is not loaded",
  12: "the NVIDIA management library (NVML) was not found",
};

export function readNvidiaSmi(output: CommandOutput): GpuProbe {
  if (output.notFound) return { gpus: [], reason: "nvidia-smi is not installed" };
  if (output.timedOut) return { gpus: [], reason: "nvidia-smi did not answer in time" };
  if (output.code !== 0) {
    const known = output.code === null ? undefined : EXIT_REASONS[output.code];
    return { gpus: [], reason: known ?? `nvidia-smi failed (exit code ${output.code ?? "none"})` };
  }
  const gpus = parseNvidiaSmiCsv(output.stdout);
  return gpus.length > 0 ? { gpus } : { gpus: [], reason: "nvidia-smi lists no GPU" };
}

/** Lines that do not have the six fields are skipped rather than guessed at. */
export function parseNvidiaSmiCsv(stdout: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const fields = line.split(", ").map((field) => field.trim());
    if (fields.length < FIELDS_AFTER_NAME + 1) continue;
    // A name holding ", " would shift every field; the last five are fixed, so the rest is the name.
    const tail = fields.slice(-FIELDS_AFTER_NAME);
    const name = fields.slice(0, -FIELDS_AFTER_NAME).join(", ");
    const [total, free, driver, uuid, utilization] = tail as [string, string, string, string, string];
    gpus.push({
      vendor: "nvidia",
      name: readText(name) ?? "NVIDIA GPU",
      memory_total_mib: readNumber(total),
      memory_free_mib: readNumber(free),
      driver: readText(driver),
      uuid: readText(uuid),
      utilization_pct: readNumber(utilization),
    });
  }
  return gpus;
}

/** `[N/A]`, `[Not Supported]` and friends are bracketed; they mean "unknown", not zero. */
function readText(field: string): string | null {
  return field === "" || /^\[.*\]$/.test(field) ? null : field;
}

function readNumber(field: string): number | null {
  const text = readText(field);
  if (text === null) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}
