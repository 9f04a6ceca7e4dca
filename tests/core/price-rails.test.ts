import { describe, expect, test } from "bun:test";
import { BasisError } from "../../lib/core/errors.ts";
import {
  assertWithinRails,
  checkModelsRails,
  checkRails,
  formatWholeCredits,
  NETWORK_DEFAULT_ASK,
  parseMicroCredits,
  PRICE_RAILS,
  type MoneyField,
} from "../../lib/core/price-rails.ts";

const BASE = { ...NETWORK_DEFAULT_ASK };

function priced(field: MoneyField, value: bigint) {
  return { ...BASE, [field]: value.toString() };
}

describe("PRICE_RAILS and NETWORK_DEFAULT_ASK", () => {
  test("hold the network's published rails", () => {
    expect(PRICE_RAILS.promptFloor).toBe(10_000_000n);
    expect(PRICE_RAILS.outputFloor).toBe(20_000_000n);
    expect(PRICE_RAILS.priceMax).toBe(12_000_000_000n);
    expect(PRICE_RAILS.minJobCreditsFloor).toBe(50_000_000n);
    expect(PRICE_RAILS.highPrice).toBe(6_000_000_000n);
    expect(NETWORK_DEFAULT_ASK).toEqual({
      prompt_credits_per_1m: "460000000",
      output_credits_per_1m: "1840000000",
      min_job_credits: "50000000",
    });
  });

  test("the default ask is within the rails and not flagged", () => {
    expect(checkRails(NETWORK_DEFAULT_ASK)).toEqual({ violations: [], flags: [] });
  });
});

describe("checkRails", () => {
  const boundaries: [MoneyField, string, bigint, "below" | "above"][] = [
    ["prompt_credits_per_1m", "prompt_floor", PRICE_RAILS.promptFloor, "below"],
    ["prompt_credits_per_1m", "price_max", PRICE_RAILS.priceMax, "above"],
    ["output_credits_per_1m", "output_floor", PRICE_RAILS.outputFloor, "below"],
    ["output_credits_per_1m", "price_max", PRICE_RAILS.priceMax, "above"],
    ["min_job_credits", "min_job_credits_floor", PRICE_RAILS.minJobCreditsFloor, "below"],
  ];
  for (const [field, rail, limit, side] of boundaries) {
    test(`${field} equal to ${rail} passes`, () => {
      expect(checkRails(priced(field, limit)).violations).toEqual([]);
    });

    test(`${field} one ${side} ${rail} fails, naming the field and the rail`, () => {
      const price = side === "below" ? limit - 1n : limit + 1n;
      const { violations } = checkRails(priced(field, price));
      expect(violations).toHaveLength(1);
      expect(violations[0]).toMatchObject({ field, rail, limit: limit.toString() });
      expect(violations[0]!.message).toContain(field);
      expect(violations[0]!.message).toContain(rail);
    });
  }

  test("a zero output price breaks only the output floor", () => {
    expect(checkRails(priced("output_credits_per_1m", 0n)).violations.map((v) => v.rail)).toEqual(["output_floor"]);
  });

  test("flags a price above the high mark but allows it", () => {
    const result = checkRails(priced("output_credits_per_1m", PRICE_RAILS.highPrice + 1n));
    expect(result.violations).toEqual([]);
    expect(result.flags).toEqual([{ field: "output_credits_per_1m", flag: "high" }]);
  });

  test("does not flag a price exactly at the high mark", () => {
    expect(checkRails(priced("prompt_credits_per_1m", PRICE_RAILS.highPrice)).flags).toEqual([]);
  });

  test("prefixes fields with where the model sits", () => {
    const { violations } = checkRails(priced("min_job_credits", 1n), "models[3].");
    expect(violations[0]?.field).toBe("models[3].min_job_credits");
  });

  test("refuses a value that is not money", () => {
    expect(() => checkRails({ ...BASE, min_job_credits: "5e7" })).toThrow(BasisError);
  });
});

describe("checkModelsRails", () => {
  test("names each violation by model index", () => {
    const result = checkModelsRails([BASE, priced("prompt_credits_per_1m", 1n), priced("prompt_credits_per_1m", 7_000_000_000n)]);
    expect(result.violations.map((v) => v.field)).toEqual(["models[1].prompt_credits_per_1m"]);
    expect(result.flags).toEqual([{ field: "models[2].prompt_credits_per_1m", flag: "high" }]);
  });
});

describe("assertWithinRails", () => {
  test("throws price_out_of_rails with the field and rail in the message", () => {
    try {
      assertWithinRails([BASE, priced("output_credits_per_1m", PRICE_RAILS.priceMax + 1n)]);
      throw new Error("expected a throw");
    } catch (error) {
      expect(error).toBeInstanceOf(BasisError);
      const basis = error as BasisError;
      expect(basis.code).toBe("price_out_of_rails");
      expect(basis.exitCode).toBe(2);
      expect(basis.message).toContain("models[1].output_credits_per_1m");
      expect(basis.message).toContain("price_max");
    }
  });

  test("returns the flags when every price is within the rails", () => {
    expect(assertWithinRails([priced("output_credits_per_1m", 6_000_000_001n)]).flags).toHaveLength(1);
  });
});

describe("parseMicroCredits", () => {
  test("reads a decimal string as bigint", () => {
    expect(parseMicroCredits("460000000", "f")).toBe(460_000_000n);
    expect(parseMicroCredits("0", "f")).toBe(0n);
  });

  const bad: [string, unknown][] = [
    ["a JSON number", 460000000],
    ["a float string", "4.6"],
    ["an exponent", "1e9"],
    ["a plus sign", "+5"],
    ["a minus sign", "-5"],
    ["a leading zero", "0123"],
    ["an empty string", ""],
    ["a leading space", " 5"],
    ["a trailing newline", "5\n"],
    ["hex", "0x10"],
    ["31 digits", "1".repeat(31)],
  ];
  for (const [name, value] of bad) {
    test(`refuses ${name}`, () => {
      expect(() => parseMicroCredits(value, "models[0].min_job_credits")).toThrow(/models\[0\]\.min_job_credits/);
    });
  }
});

describe("formatWholeCredits", () => {
  test("shows whole credits without trailing zeros", () => {
    expect(formatWholeCredits(12_000_000_000n)).toBe("12000");
    expect(formatWholeCredits(10_500_000n)).toBe("10.5");
    expect(formatWholeCredits(1n)).toBe("0.000001");
  });
});
