/**
 * Apple Silicon: platform darwin + arch arm64, or an x64 process that `sysctl.proc_translated`
 * says Rosetta is translating (then the chip is Apple Silicon even though arch reads x64).
 */
import type { AppleFacts, CommandOutput } from "./host-facts.ts";

export const SYSCTL_TRANSLATED_ARGS = ["-n", "sysctl.proc_translated"] as const;
export const SYSCTL_BRAND_ARGS = ["-n", "machdep.cpu.brand_string"] as const;
export const SYSCTL_MEMSIZE_ARGS = ["-n", "hw.memsize"] as const;

const MIB = 1024 * 1024;

export interface AppleSysctlOutputs {
  translated?: CommandOutput;
  brand?: CommandOutput;
  memsize?: CommandOutput;
}

export function readAppleSilicon(platform: string, arch: string, sysctl: AppleSysctlOutputs = {}): AppleFacts {
  if (platform !== "darwin") return { appleSilicon: false, rosetta: false };
  const rosetta = readLine(sysctl.translated) === "1";
  const appleSilicon = arch === "arm64" || rosetta;
  if (!appleSilicon) return { appleSilicon: false, rosetta: false };
  const brand = readLine(sysctl.brand);
  const bytes = Number(readLine(sysctl.memsize));
  return {
    appleSilicon,
    rosetta,
    gpu: {
      vendor: "apple",
      name: brand?.startsWith("Apple") ? brand : "Apple Silicon",
      // Unified memory: the GPU can use most of it, which is what sizing a model needs.
      memory_total_mib: Number.isFinite(bytes) && bytes > 0 ? Math.floor(bytes / MIB) : null,
      memory_free_mib: null,
      driver: null,
      uuid: null,
      utilization_pct: null,
    },
  };
}

function readLine(output: CommandOutput | undefined): string | undefined {
  if (!output || output.code !== 0) return undefined;
  const line = output.stdout.trim();
  return line === "" ? undefined : line;
}
