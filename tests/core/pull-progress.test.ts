import { describe, expect, test } from "bun:test";
import { createPullProgressTracker, formatBytes, formatPullLine, formatRate } from "../../lib/core/pull-progress.ts";

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

describe("formatBytes", () => {
  test.each([
    [0, "0 B"],
    [512, "512 B"],
    [1536, "1.5 KiB"],
    [1.2 * GIB, "1.2 GiB"],
    [2_142_590_208, "2.0 GiB"],
    [-5, "0 B"],
  ])("formats %d as %s", (input, expected) => {
    expect(formatBytes(input)).toBe(expected);
  });
});

describe("formatRate", () => {
  test("adds per second", () => {
    expect(formatRate(45.1 * MIB)).toBe("45.1 MiB/s");
  });
});

describe("formatPullLine", () => {
  test("shows bytes, percent and rate for a layer", () => {
    expect(formatPullLine({ status: "pulling 6a0746a1ec1a", total: 2 * GIB, completed: 1.2 * GIB, percent: 60, bytesPerSecond: 45.1 * MIB }))
      .toBe("pulling 6a0746a1ec1a  1.2 GiB / 2.0 GiB  60%  45.1 MiB/s");
  });

  test("shows only the status when there is no total", () => {
    expect(formatPullLine({ status: "verifying sha256 digest" })).toBe("verifying sha256 digest");
  });
});

describe("createPullProgressTracker", () => {
  test("works out percent and the rate since the layer started", () => {
    const tracker = createPullProgressTracker();
    const digest = "sha256:6a0746a1ec1a";
    const first = tracker.update({ status: "pulling 6a0746a1ec1a", digest, total: 2 * GIB }, 1_000);
    expect(first).toMatchObject({ completed: 0, percent: 0, line: "pulling 6a0746a1ec1a  0 B / 2.0 GiB  0%" });
    expect(first.bytesPerSecond).toBeUndefined();
    const later = tracker.update({ status: "pulling 6a0746a1ec1a", digest, total: 2 * GIB, completed: 100 * MIB }, 3_000);
    expect(later.percent).toBe(4);
    expect(later.bytesPerSecond).toBe(50 * MIB);
    expect(later.line).toBe("pulling 6a0746a1ec1a  100.0 MiB / 2.0 GiB  4%  50.0 MiB/s");
  });

  test("measures the rate over a recent window, not since the start", () => {
    const tracker = createPullProgressTracker();
    const at = (seconds: number, completedMib: number) =>
      tracker.update({ status: "pulling x", digest: "d", total: 10 * GIB, completed: completedMib * MIB }, seconds * 1000);
    at(0, 0);
    at(10, 10); // slow start: 1 MiB/s
    at(11, 110);
    const now = at(16, 610); // 100 MiB/s for the last stretch
    expect(now.bytesPerSecond).toBe(100 * MIB);
  });

  test("keeps separate rates per layer and caps completed at total", () => {
    const tracker = createPullProgressTracker();
    tracker.update({ status: "pulling a", digest: "a", total: 100, completed: 0 }, 0);
    const other = tracker.update({ status: "pulling b", digest: "b", total: 100, completed: 50 }, 1_000);
    expect(other.bytesPerSecond).toBeUndefined();
    expect(tracker.update({ status: "pulling a", digest: "a", total: 100, completed: 150 }, 1_000)).toMatchObject({ completed: 100, percent: 100 });
  });

  test("passes plain status lines through", () => {
    expect(createPullProgressTracker().update({ status: "pulling manifest" }, 0)).toEqual({ status: "pulling manifest", line: "pulling manifest" });
  });
});
