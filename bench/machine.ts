/** What the numbers were measured on: they mean little without the core count and versions. */
import { readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";

export interface MachineInfo {
  cores: number;
  cpu_model: string;
  memory_mb: number;
  os: string;
  kernel: string;
  bun_version: string;
  basis_version: string;
  /** 1/5/15-minute load when the run began: above the core count, other work shared the CPU. */
  load_average: number[];
}

function readCpuModel(): string {
  const fromOs = cpus()[0]?.model?.trim();
  if (fromOs) return fromOs;
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("model name"));
    return line?.split(":")[1]?.trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

export async function describeMachine(workerBin: string): Promise<MachineInfo> {
  const version = Bun.spawn([workerBin, "--version"], { stdout: "pipe", stderr: "ignore" });
  const basisVersion = (await new Response(version.stdout).text()).trim();
  await version.exited;
  return {
    cores: cpus().length,
    cpu_model: readCpuModel(),
    memory_mb: Math.round(totalmem() / 2 ** 20),
    os: `${process.platform}-${process.arch}`,
    kernel: release(),
    bun_version: Bun.version,
    basis_version: basisVersion || "unknown",
    load_average: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
