import { describe, expect, test } from "bun:test";
import { chargeForUsage, NETWORK_DEFAULT_PRICE, rewardForJob, shareOf, sumAmounts, WORKER_SHARE_BPS } from "../../lib/core/rewards.ts";

describe("chargeForUsage", () => {
  test("prices a million tokens of each side at the network default ask", () => {
    expect(chargeForUsage(1_000_000, 0)).toBe(460_000_000n);
    expect(chargeForUsage(0, 1_000_000)).toBe(1_840_000_000n);
    expect(chargeForUsage(1_000_000, 1_000_000)).toBe(2_300_000_000n);
  });

  test("floors the sum once, not each side", () => {
    const price = { prompt: 500_000n, output: 500_000n };
    // Half a raw credit per token on each side: 1 + 1 tokens is exactly 1, floored per side it would be 0.
    expect(chargeForUsage(1, 1, price)).toBe(1n);
    expect(chargeForUsage(1, 0, price)).toBe(0n);
  });

  test("stays exact far beyond 2^53", () => {
    const tokens = Number.MAX_SAFE_INTEGER;
    expect(chargeForUsage(tokens, tokens)).toBe((BigInt(tokens) * 2_300_000_000n) / 1_000_000n);
  });

  test.each([[-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY]])("refuses a token count of %p", (count) => {
    expect(() => chargeForUsage(count, 0)).toThrow(RangeError);
  });
});

describe("shareOf", () => {
  test("takes the worker share in basis points, floored", () => {
    expect(WORKER_SHARE_BPS).toBe(9_000n);
    expect(shareOf(10_000n)).toBe(9_000n);
    expect(shareOf(5_060n)).toBe(4_554n);
    expect(shareOf(1n)).toBe(0n);
    expect(shareOf(19n)).toBe(17n);
  });
});

describe("rewardForJob", () => {
  const usage = { prompt_tokens: 1_234, completion_tokens: 16 };

  test("a payable completed job is pending the worker share, and share plus fee is the charge", () => {
    const reward = rewardForJob({ status: "completed", payable: true, reasons: [], ...usage });
    // (1234 * 460000000 + 16 * 1840000000) / 1e6 = 597080; 90% = 537372.
    expect(reward).toEqual({ charged_raw: 597_080n, reward_raw: 537_372n, fee_raw: 59_708n, state: "pending", reason: null });
    expect(reward.reward_raw + reward.fee_raw).toBe(reward.charged_raw);
  });

  test("a completed job the verdict did not pass is valued but pays 0, with its reasons", () => {
    const reward = rewardForJob({ status: "completed", payable: false, reasons: ["simulator", "dev_mode"], ...usage });
    expect(reward).toMatchObject({ charged_raw: 597_080n, reward_raw: 0n, state: "not_payable", reason: "simulator,dev_mode" });
  });

  test("a failed job is not charged and pays 0", () => {
    expect(rewardForJob({ status: "failed", payable: false, reasons: [], ...usage })).toEqual({
      charged_raw: 0n,
      reward_raw: 0n,
      fee_raw: 0n,
      state: "not_payable",
      reason: "job_failed",
    });
    expect(rewardForJob({ status: "failed", payable: true, reasons: ["timeout"], ...usage }).reward_raw).toBe(0n);
  });

  test("uses the network default ask unless told otherwise", () => {
    const job = { status: "completed" as const, payable: true, reasons: [], prompt_tokens: 1_000_000, completion_tokens: 0 };
    expect(rewardForJob(job).charged_raw).toBe(NETWORK_DEFAULT_PRICE.prompt);
    expect(rewardForJob(job, { prompt: 10_000_000n, output: 20_000_000n }).charged_raw).toBe(10_000_000n);
  });
});

describe("sumAmounts", () => {
  test("adds integer strings exactly", () => {
    expect(sumAmounts([])).toBe(0n);
    expect(sumAmounts(["9007199254740993", "9007199254740993", "0"])).toBe(18_014_398_509_481_986n);
  });

  test.each([["-1"], ["1.5"], ["1e3"], [" 1"], [""], ["01"], ["0x10"]])("refuses %p", (amount) => {
    expect(() => sumAmounts(["1", amount])).toThrow(RangeError);
  });
});
