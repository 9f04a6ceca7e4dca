/**
 * Ask-price rails for the price/model manifest. The worker checks them before signing and the
 * reference server checks them again on receipt, so both import this one module and the two
 * can never disagree about what an acceptable price is.
 *
 * Money is raw micro-credits (1 whole credit = 1_000_000 raw, pegged at $0.001) per 1M tokens,
 * carried as decimal strings and compared as bigint: a float would round large prices.
 */
import { BasisError } from "./errors.ts";

/** Rails in raw micro-credits per 1M tokens (min_job_credits: raw micro-credits per job). */
export const PRICE_RAILS = {
  promptFloor: 10_000_000n,
  outputFloor: 20_000_000n,
  /** The same ceiling applies to prompt and output prices. */
  priceMax: 12_000_000_000n,
  minJobCreditsFloor: 50_000_000n,
  /** Above this a price is still routable, but flagged `high` for buyers. */
  highPrice: 6_000_000_000n,
} as const;

/** What the network asks when a worker has not said otherwise; the template starts here. */
export const NETWORK_DEFAULT_ASK = {
  prompt_credits_per_1m: "460000000",
  output_credits_per_1m: "1840000000",
  min_job_credits: "50000000",
} as const;

export const RAW_PER_WHOLE_CREDIT = 1_000_000n;

/**
 * A non-negative decimal integer with no sign, exponent, point, whitespace or leading zero.
 * 30 digits bounds the bigint far above any rail, so a hostile value cannot be huge.
 */
export const MICRO_CREDITS_PATTERN = /^(0|[1-9][0-9]{0,29})$/;

export const MICRO_CREDITS_MESSAGE =
  'must be a decimal string of raw micro-credits, e.g. "460000000" (no JSON number, sign, exponent, decimal point, space or leading zero)';

export type MoneyField = "prompt_credits_per_1m" | "output_credits_per_1m" | "min_job_credits";
export type RailName = "prompt_floor" | "output_floor" | "price_max" | "min_job_credits_floor";

export type PricedModel = Readonly<Record<MoneyField, string>>;

export interface RailViolation {
  field: string;
  rail: RailName;
  /** The rail's limit in raw micro-credits, as a decimal string. */
  limit: string;
  message: string;
}

export interface RailFlag {
  field: string;
  flag: "high";
}

export interface RailsResult {
  violations: RailViolation[];
  flags: RailFlag[];
}

/** Parse a raw micro-credit amount; throws `money_malformed` naming the field, never the value. */
export function parseMicroCredits(value: unknown, field: string): bigint {
  if (typeof value !== "string" || !MICRO_CREDITS_PATTERN.test(value)) {
    throw new BasisError("money_malformed", `${field} ${MICRO_CREDITS_MESSAGE}.`, { exitCode: 2 });
  }
  return BigInt(value);
}

/** "12000000000" -> "12000", "10500000" -> "10.5": whole credits for people to read. */
export function formatWholeCredits(raw: bigint): string {
  const whole = raw / RAW_PER_WHOLE_CREDIT;
  const fraction = (raw % RAW_PER_WHOLE_CREDIT).toString().padStart(6, "0").replace(/0+$/, "");
  return fraction === "" ? whole.toString() : `${whole}.${fraction}`;
}

interface RailCheck {
  field: MoneyField;
  rail: RailName;
  limit: bigint;
  fails: (price: bigint, limit: bigint) => boolean;
  describe: string;
}

const BELOW = (price: bigint, limit: bigint) => price < limit;
const ABOVE = (price: bigint, limit: bigint) => price > limit;

const CHECKS: readonly RailCheck[] = [
  { field: "prompt_credits_per_1m", rail: "prompt_floor", limit: PRICE_RAILS.promptFloor, fails: BELOW, describe: "below the prompt floor" },
  { field: "prompt_credits_per_1m", rail: "price_max", limit: PRICE_RAILS.priceMax, fails: ABOVE, describe: "above the price max" },
  { field: "output_credits_per_1m", rail: "output_floor", limit: PRICE_RAILS.outputFloor, fails: BELOW, describe: "below the output floor" },
  { field: "output_credits_per_1m", rail: "price_max", limit: PRICE_RAILS.priceMax, fails: ABOVE, describe: "above the price max" },
  { field: "min_job_credits", rail: "min_job_credits_floor", limit: PRICE_RAILS.minJobCreditsFloor, fails: BELOW, describe: "below the min_job_credits floor" },
];

const HIGH_FLAGGED: readonly MoneyField[] = ["prompt_credits_per_1m", "output_credits_per_1m"];

/**
 * Check one model's prices. `prefix` names where the model sits (e.g. "models[2].") so that
 * every violation names the exact field. Throws `money_malformed` on a value that is not money.
 */
export function checkRails(model: PricedModel, prefix = ""): RailsResult {
  const prices = {} as Record<MoneyField, bigint>;
  for (const field of ["prompt_credits_per_1m", "output_credits_per_1m", "min_job_credits"] as const) {
    prices[field] = parseMicroCredits(model[field], `${prefix}${field}`);
  }
  const violations: RailViolation[] = [];
  for (const check of CHECKS) {
    if (!check.fails(prices[check.field], check.limit)) continue;
    const field = `${prefix}${check.field}`;
    violations.push({
      field,
      rail: check.rail,
      limit: check.limit.toString(),
      message: `${field} is ${check.describe} (rail ${check.rail}: ${check.limit} raw micro-credits, ${formatWholeCredits(check.limit)} credits).`,
    });
  }
  const flags: RailFlag[] = HIGH_FLAGGED.filter((field) => prices[field] > PRICE_RAILS.highPrice).map(
    (field) => ({ field: `${prefix}${field}`, flag: "high" }),
  );
  return { violations, flags };
}

/** Check every model of a manifest; fields are named `models[i].<field>`. */
export function checkModelsRails(models: readonly PricedModel[]): RailsResult {
  const result: RailsResult = { violations: [], flags: [] };
  models.forEach((model, index) => {
    const one = checkRails(model, `models[${index}].`);
    result.violations.push(...one.violations);
    result.flags.push(...one.flags);
  });
  return result;
}

/** Throws `price_out_of_rails` (exit 2) naming the first violated field and rail. */
export function assertWithinRails(models: readonly PricedModel[]): RailsResult {
  const result = checkModelsRails(models);
  const first = result.violations[0];
  if (first) {
    const more = result.violations.length > 1 ? ` (and ${result.violations.length - 1} more)` : "";
    throw new BasisError("price_out_of_rails", `${first.message}${more}`, {
      exitCode: 2,
      hint: `Keep prices between the floors and ${PRICE_RAILS.priceMax} raw per 1M; the network default ask is ${NETWORK_DEFAULT_ASK.prompt_credits_per_1m} prompt / ${NETWORK_DEFAULT_ASK.output_credits_per_1m} output.`,
      details: { violations: result.violations },
    });
  }
  return result;
}
