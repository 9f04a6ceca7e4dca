import { describe, expect, test } from "bun:test";
import { parseRocmSmiCards, readRocmSmi } from "../../../lib/core/detect/parse-rocm-smi.ts";
import { exited, NOT_FOUND, readFixture, TIMED_OUT } from "../../fixtures/detect/recorded.ts";

describe("readRocmSmi", () => {
  test("reads two cards through the banner lines around the JSON", () => {
    const probe = readRocmSmi(exited(0, readFixture("rocm-smi-product.json")), exited(0, readFixture("rocm-smi-meminfo.json")));
    expect(probe.reason).toBeUndefined();
    expect(probe.gpus.map((gpu) => gpu.name)).toEqual(["AMD Instinct MI300X", "AMD Instinct MI300X"]);
    expect(probe.gpus[0]).toMatchObject({ vendor: "amd", memory_total_mib: 196592, memory_free_mib: 196309 });
    expect(probe.gpus[1]?.memory_free_mib).toBe(196592 - 98560);
  });

  test("reads the lowercase keys of older releases and skips the system entry", () => {
    const probe = readRocmSmi(
      exited(0, readFixture("rocm-smi-product-lowercase.json")),
      exited(0, readFixture("rocm-smi-meminfo-lowercase.json")),
    );
    expect(probe.gpus).toHaveLength(1);
    expect(probe.gpus[0]).toMatchObject({
      name: "Navi 31 [Radeon RX 7900 XT/7900 XTX/7900M]",
      memory_total_mib: 24560,
      memory_free_mib: 24560 - 1680,
    });
  });

  test("keeps the GPUs when the memory query fails", () => {
    const probe = readRocmSmi(exited(0, readFixture("rocm-smi-product.json")), exited(2, "", "unknown option"));
    expect(probe.gpus).toHaveLength(2);
    expect(probe.gpus[0]?.memory_total_mib).toBeNull();
  });

  test.each([
    ["a missing binary", NOT_FOUND, "rocm-smi is not installed"],
    ["a hang", TIMED_OUT, "rocm-smi did not answer in time"],
    ["a failed run", exited(2, "", "ERROR: no GPU"), "rocm-smi failed (exit code 2)"],
    ["text instead of JSON", exited(0, "WARNING: No AMD GPUs specified\n"), "rocm-smi printed no JSON"],
    ["JSON without cards", exited(0, '{"system": {"Driver version": "6.7.0"}}'), "rocm-smi lists no GPU"],
  ])("gives a reason for %s", (_, product, reason) => {
    expect(readRocmSmi(product, NOT_FOUND)).toEqual({ gpus: [], reason });
  });
});

describe("parseRocmSmiCards", () => {
  test("orders cards by number and reads memory given in MiB", () => {
    const gpus = parseRocmSmiCards(
      { card10: { "Card Series": "B" }, card2: { "Card Series": "A" } },
      { card2: { "vram Total Memory (MiB)": "65520", "vram Total Used Memory (MiB)": "9703" } },
    );
    expect(gpus.map((gpu) => gpu.name)).toEqual(["A", "B"]);
    expect(gpus[0]).toMatchObject({ memory_total_mib: 65520, memory_free_mib: 55817 });
  });

  test("falls back to the model when the series reads N/A", () => {
    const [gpu] = parseRocmSmiCards({ card0: { "Card Series": "N/A", "Card Model": "0x744c" } }, {});
    expect(gpu?.name).toBe("0x744c");
  });
});
