import { describe, expect, test } from "bun:test";
import { percentile, spread, summarize } from "../../bench/stats.ts";

describe("percentile", () => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  test.each([
    [50, 50],
    [99, 99],
    [100, 100],
    [1, 1],
    [0, 1],
  ])("p%d of 1..100 is the sample at that rank (%d)", (p, expected) => {
    expect(percentile(sorted, p)).toBe(expected);
  });

  test("is NaN for no samples rather than a made-up number", () => {
    expect(percentile([], 50)).toBeNaN();
  });
});

describe("summarize", () => {
  test("sorts its input and reports min, p50, p99, max and mean", () => {
    expect(summarize([3, 1, 2, 10])).toEqual({ n: 4, min: 1, p50: 2, p99: 10, max: 10, mean: 4 });
  });
});

describe("spread", () => {
  test("gives min, median and max of a few rounds", () => {
    expect(spread([5, 1, 9])).toEqual({ min: 1, median: 5, max: 9 });
  });
});
