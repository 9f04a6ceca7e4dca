import { describe, expect, test } from "bun:test";
import { listMissing } from "../../../lib/core/detect/list-missing.ts";
import { readNvidiaSmi } from "../../../lib/core/detect/parse-nvidia-smi.ts";
import { exited, readBareLinuxFacts, readFixture, readGpuHostFacts } from "../../fixtures/detect/recorded.ts";

describe("listMissing", () => {
  test("names the real cause when the NVIDIA driver is not loaded", () => {
    const facts = { ...readBareLinuxFacts(), nvidia: readNvidiaSmi(exited(9, readFixture("nvidia-smi-driver-not-loaded.txt"))) };
    expect(listMissing(facts, [])[0]).toBe(
      "No GPU found (the NVIDIA driver is not loaded; rocm-smi is not installed); the echo runtime needs none.",
    );
  });

  test("calls Docker optional when it is not installed", () => {
    const facts = { ...readBareLinuxFacts(), docker: { installed: false, running: false, nvidia_runtime: false } };
    expect(listMissing(facts, [])).toContain(
      "Docker is not installed (optional: only needed to run Ollama or vLLM in a container).",
    );
  });

  test("reports nothing about GPUs or Docker on a ready GPU host", () => {
    const facts = readGpuHostFacts();
    const missing = listMissing(facts, facts.nvidia.gpus);
    expect(missing.filter((line) => /GPU|Docker/.test(line))).toEqual([]);
  });
});
