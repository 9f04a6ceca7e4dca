import { describe, expect, test } from "bun:test";
import { parseNvidiaSmiCsv, readNvidiaSmi } from "../../../lib/core/detect/parse-nvidia-smi.ts";
import { exited, NOT_FOUND, readFixture, TIMED_OUT } from "../../fixtures/detect/recorded.ts";

describe("parseNvidiaSmiCsv", () => {
  test("reads every GPU of a two-GPU host", () => {
    const gpus = parseNvidiaSmiCsv(readFixture("nvidia-smi-h100x2.csv"));
    expect(gpus).toHaveLength(2);
    expect(gpus[0]).toEqual({
      vendor: "nvidia",
      name: "NVIDIA H100 80GB HBM3",
      memory_total_mib: 81559,
      memory_free_mib: 81004,
      driver: "550.54.15",
      uuid: "GPU-8f3c2b1a-5d6e-4f70-9a8b-1c2d3e4f5a6b",
      utilization_pct: 0,
    });
    expect(gpus[1]?.memory_free_mib).toBe(40212);
    expect(gpus[1]?.utilization_pct).toBe(87);
  });

  test("turns [N/A] and [Not Supported] into null, not zero", () => {
    const [laptop, grace] = parseNvidiaSmiCsv(readFixture("nvidia-smi-na-fields.csv"));
    expect(laptop?.utilization_pct).toBeNull();
    expect(laptop?.memory_total_mib).toBe(6144);
    expect(grace?.memory_total_mib).toBeNull();
    expect(grace?.memory_free_mib).toBeNull();
    expect(grace?.driver).toBe("560.35.03");
  });

  test("keeps a name that itself holds a comma", () => {
    const [gpu] = parseNvidiaSmiCsv("Tesla K80, rev 2, 11441, 11370, 470.82.01, GPU-abc, 3\n");
    expect(gpu?.name).toBe("Tesla K80, rev 2");
    expect(gpu?.memory_total_mib).toBe(11441);
  });

  test.each([
    ["an empty output", ""],
    ["a message instead of CSV", "No devices were found\n"],
    ["too few fields", "NVIDIA A10, 23028, 22000\n"],
  ])("finds no GPU in %s", (_, stdout) => {
    expect(parseNvidiaSmiCsv(stdout)).toEqual([]);
  });
});

describe("readNvidiaSmi", () => {
  test("returns the GPUs of a successful run", () => {
    const probe = readNvidiaSmi(exited(0, readFixture("nvidia-smi-h100x2.csv")));
    expect(probe.gpus).toHaveLength(2);
    expect(probe.reason).toBeUndefined();
  });

  test.each([
    ["a missing binary", NOT_FOUND, "nvidia-smi is not installed"],
    ["a hang", TIMED_OUT, "nvidia-smi did not answer in time"],
    ["exit code 6 (query failed)", exited(6, readFixture("nvidia-smi-no-devices.txt")), "nvidia-smi found no GPU it could query"],
    ["exit code 9 (driver not loaded)", exited(9, readFixture("nvidia-smi-driver-not-loaded.txt")), "the NVIDIA driver is not loaded"],
    ["exit code 12 (NVML missing)", exited(12), "the NVIDIA management library (NVML) was not found"],
    ["an undocumented exit code", exited(15), "nvidia-smi failed (exit code 15)"],
    ["a successful run listing nothing", exited(0, ""), "nvidia-smi lists no GPU"],
  ])("gives a reason, not a crash, for %s", (_, output, reason) => {
    expect(readNvidiaSmi(output)).toEqual({ gpus: [], reason });
  });
});
