import { describe, expect, test } from "bun:test";
import { readAppleSilicon } from "../../../lib/core/detect/read-apple-silicon.ts";
import { exited, NOT_FOUND } from "../../fixtures/detect/recorded.ts";

describe("readAppleSilicon", () => {
  test("recognises a native arm64 process on macOS with its chip and unified memory", () => {
    const facts = readAppleSilicon("darwin", "arm64", {
      translated: exited(0, "0\n"),
      brand: exited(0, "Apple M2 Pro\n"),
      memsize: exited(0, "34359738368\n"),
    });
    expect(facts).toMatchObject({ appleSilicon: true, rosetta: false });
    expect(facts.gpu).toMatchObject({ vendor: "apple", name: "Apple M2 Pro", memory_total_mib: 32768 });
  });

  test("sees through Rosetta: an x64 process that sysctl says is translated", () => {
    const facts = readAppleSilicon("darwin", "x64", { translated: exited(0, "1\n") });
    expect(facts).toMatchObject({ appleSilicon: true, rosetta: true });
    expect(facts.gpu?.name).toBe("Apple Silicon");
  });

  test.each([
    ["an Intel Mac (no such sysctl)", "darwin", "x64", exited(1, "", "sysctl: unknown oid 'sysctl.proc_translated'")],
    ["Linux on arm64", "linux", "arm64", NOT_FOUND],
    ["Windows", "win32", "x64", NOT_FOUND],
  ])("is not Apple Silicon on %s", (_, platform, arch, translated) => {
    expect(readAppleSilicon(platform, arch, { translated })).toEqual({ appleSilicon: false, rosetta: false });
  });
});
