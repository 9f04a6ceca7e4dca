import { describe, expect, test } from "bun:test";
import { ewma, MIN_RELATIVE_WEIGHT, pickWeighted, routingWeights } from "../../lib/core/routing.ts";

const worker = (over: Partial<Parameters<typeof routingWeights>[0][number]> = {}) => ({
  active: 0,
  capacity: 4,
  ttftMs: 100,
  tpotMs: 10,
  outputAsk: 1_000_000_000n,
  ...over,
});

describe("routingWeights", () => {
  test("prefers free capacity, then speed (squared), then a lower ask", () => {
    const [free, busy] = routingWeights([worker(), worker({ active: 3 })]);
    expect(free! / busy!).toBeCloseTo(4);
    const [fast, slow] = routingWeights([worker(), worker({ ttftMs: 300, tpotMs: 30 })]);
    expect(fast! / slow!).toBeCloseTo(9);
    const [cheap, dear] = routingWeights([worker(), worker({ outputAsk: 2_000_000_000n })]);
    expect(cheap! / dear!).toBeCloseTo(2);
  });

  test("never lets a worker with a free slot fall below the floor; a full one weighs nothing", () => {
    const [best, awful, full] = routingWeights([worker(), worker({ ttftMs: 100_000, outputAsk: 10n ** 15n }), worker({ active: 4 })]);
    expect(awful).toBeCloseTo(best! * MIN_RELATIVE_WEIGHT);
    expect(full).toBe(0);
  });

  test("a worker without measurements counts as the median of the others", () => {
    const [known, fresh] = routingWeights([worker(), worker({ ttftMs: undefined, tpotMs: undefined })]);
    expect(fresh).toBeCloseTo(known!);
  });
});

describe("pickWeighted", () => {
  test("picks in proportion to the weights and never a zero weight", () => {
    expect(pickWeighted([0, 1, 3], () => 0)).toBe(1);
    expect(pickWeighted([0, 1, 3], () => 0.24)).toBe(1);
    expect(pickWeighted([0, 1, 3], () => 0.26)).toBe(2);
    expect(pickWeighted([0, 0], () => 0.5)).toBe(-1);
  });
});

describe("ewma", () => {
  test("starts at the first sample and moves 30% toward each next one", () => {
    expect(ewma(undefined, 50)).toBe(50);
    expect(ewma(50, 150)).toBe(80);
  });
});
