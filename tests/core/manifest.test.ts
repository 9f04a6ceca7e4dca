import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { BasisError } from "../../lib/core/errors.ts";
import {
  buildManifest,
  createNonce,
  DEFAULT_TTL_SECONDS,
  MAX_TTL_SECONDS,
  parseManifest,
  parsePricesFile,
  type PricesFile,
} from "../../lib/core/manifest.ts";
import { NETWORK_DEFAULT_ASK } from "../../lib/core/price-rails.ts";
import vectors from "../fixtures/manifest-vectors.json";

const TEMPLATE = readFileSync(new URL("../../templates/prices.example.json", import.meta.url), "utf8");
const WALLET = "0x1111111111111111111111111111111111111111";
const NOW = new Date("2025-03-01T10:00:00.000Z");
const NONCE = "00112233445566778899aabbccddeeff";

function pricesWith(change: (model: Record<string, unknown>) => void): string {
  const prices = JSON.parse(TEMPLATE);
  change(prices.models[0]);
  return JSON.stringify(prices);
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof BasisError) return error.code;
    throw error;
  }
  return undefined;
}

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected a throw");
}

describe("parsePricesFile", () => {
  test("accepts the template, which starts from the network default ask", () => {
    const prices = parsePricesFile(TEMPLATE);
    expect(prices.models[0]).toMatchObject(NETWORK_DEFAULT_ASK);
    expect(prices.hardware).toHaveProperty("gpu");
  });

  test("refuses text that is not JSON without quoting it", () => {
    const text = "{ hardware: oops-not-json }";
    expect(codeOf(() => parsePricesFile(text))).toBe("prices_json_invalid");
    expect(messageOf(() => parsePricesFile(text))).not.toContain("oops");
  });

  const moneyCases: [string, unknown][] = [
    ["a JSON number", 460000000],
    ["a float", "460000000.5"],
    ["an exponent", "1e9"],
    ["a plus sign", "+5"],
    ["a minus sign", "-5"],
    ["a leading zero", "0123"],
    ["an empty string", ""],
    ["a leading space", " 5"],
    ["null", null],
  ];
  for (const [name, value] of moneyCases) {
    test(`refuses ${name} as a price, naming the path`, () => {
      const text = pricesWith((model) => (model.prompt_credits_per_1m = value));
      expect(codeOf(() => parsePricesFile(text))).toBe("prices_invalid");
      expect(messageOf(() => parsePricesFile(text))).toContain("models[0].prompt_credits_per_1m");
    });
  }

  const countCases: [string, string, unknown][] = [
    ["concurrency", "zero", 0],
    ["concurrency", "a fraction", 1.5],
    ["concurrency", "a string", "2"],
    ["max_context_tokens", "a negative number", -1],
    ["max_output_tokens", "more than max_context_tokens", 40000],
  ];
  for (const [field, name, value] of countCases) {
    test(`refuses ${name} as ${field}`, () => {
      const text = pricesWith((model) => (model[field] = value));
      expect(messageOf(() => parsePricesFile(text))).toContain(`models[0].${field}`);
    });
  }

  test("names a missing field as required", () => {
    const text = pricesWith((model) => delete model.min_job_credits);
    expect(messageOf(() => parsePricesFile(text))).toContain("models[0].min_job_credits is required");
  });

  test("refuses an unknown field (a typo would otherwise be ignored)", () => {
    const text = pricesWith((model) => (model.concurency = 2));
    expect(messageOf(() => parsePricesFile(text))).toContain("models[0].concurency is not a known field");
  });

  test("refuses an empty model list and a repeated model_id", () => {
    const prices = JSON.parse(TEMPLATE);
    expect(codeOf(() => parsePricesFile(JSON.stringify({ ...prices, models: [] })))).toBe("prices_invalid");
    const twice = { ...prices, models: [prices.models[0], prices.models[0]] };
    expect(messageOf(() => parsePricesFile(JSON.stringify(twice)))).toContain("same model_id");
  });

  test("never echoes a key pasted into a field", () => {
    const key = "ab".repeat(32);
    const text = pricesWith((model) => (model.output_credits_per_1m = key));
    try {
      parsePricesFile(text);
      throw new Error("expected a throw");
    } catch (error) {
      expect(JSON.stringify((error as BasisError).toJSON())).not.toContain(key);
      expect((error as Error).message).not.toContain(key);
    }
  });

  test("refuses hardware that is not an object", () => {
    const prices = JSON.parse(TEMPLATE);
    expect(messageOf(() => parsePricesFile(JSON.stringify({ ...prices, hardware: "RTX" })))).toContain("hardware");
  });
});

describe("buildManifest", () => {
  const prices: PricesFile = parsePricesFile(TEMPLATE);

  test("builds the snake_case manifest with issued_at, valid_until and nonce", () => {
    const manifest = buildManifest({ prices, workerId: "gpu-1", workerWallet: WALLET, now: NOW, nonce: NONCE });
    expect(manifest).toEqual({
      worker_id: "gpu-1",
      worker_wallet: WALLET,
      hardware: prices.hardware,
      models: prices.models,
      issued_at: "2025-03-01T10:00:00.000Z",
      valid_until: new Date(NOW.getTime() + DEFAULT_TTL_SECONDS * 1000).toISOString(),
      nonce: NONCE,
    });
    expect(manifest.valid_until).toBe("2025-03-08T10:00:00.000Z");
  });

  test("uses the given lifetime", () => {
    const manifest = buildManifest({ prices, workerId: "gpu-1", workerWallet: WALLET, now: NOW, ttlSeconds: 3600, nonce: NONCE });
    expect(manifest.valid_until).toBe("2025-03-01T11:00:00.000Z");
  });

  test("draws a fresh 128-bit nonce when none is given", () => {
    const a = buildManifest({ prices, workerId: "gpu-1", workerWallet: WALLET, now: NOW });
    const b = buildManifest({ prices, workerId: "gpu-1", workerWallet: WALLET, now: NOW });
    expect(a.nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(a.nonce).not.toBe(b.nonce);
  });

  test("throws price_out_of_rails naming the field and the rail", () => {
    const low = parsePricesFile(pricesWith((model) => (model.prompt_credits_per_1m = "9999999")));
    try {
      buildManifest({ prices: low, workerId: "gpu-1", workerWallet: WALLET, now: NOW, nonce: NONCE });
      throw new Error("expected a throw");
    } catch (error) {
      expect((error as BasisError).code).toBe("price_out_of_rails");
      expect((error as Error).message).toContain("models[0].prompt_credits_per_1m");
      expect((error as Error).message).toContain("prompt_floor");
    }
  });

  const badInputs: [string, string, Partial<Parameters<typeof buildManifest>[0]>][] = [
    ["a worker id with a space", "manifest_invalid", { workerId: "my gpu" }],
    ["a key pasted as the wallet", "secret_refused", { workerWallet: "0x" + "ab".repeat(32) }],
    ["a malformed wallet", "wallet_malformed", { workerWallet: "0x1234" }],
    ["a zero lifetime", "manifest_ttl_invalid", { ttlSeconds: 0 }],
    ["a lifetime over the maximum", "manifest_ttl_invalid", { ttlSeconds: MAX_TTL_SECONDS + 1 }],
    ["an invalid date", "manifest_time_invalid", { now: new Date(Number.NaN) }],
    ["a short nonce", "manifest_invalid", { nonce: "abc" }],
  ];
  for (const [name, code, change] of badInputs) {
    test(`refuses ${name}`, () => {
      const options = { prices, workerId: "gpu-1", workerWallet: WALLET, now: NOW, nonce: NONCE, ...change };
      expect(codeOf(() => buildManifest(options))).toBe(code);
    });
  }

  test("validates prices that did not come through parsePricesFile", () => {
    const raw = JSON.parse(pricesWith((model) => (model.min_job_credits = 50000000))) as PricesFile;
    expect(codeOf(() => buildManifest({ prices: raw, workerId: "gpu-1", workerWallet: WALLET, now: NOW }))).toBe("prices_invalid");
  });
});

describe("parseManifest", () => {
  test("accepts the committed test vector", () => {
    expect(parseManifest(vectors.manifest)).toEqual(vectors.manifest);
  });

  const broken: [string, Record<string, unknown>, string][] = [
    ["an extra field the signature may not cover", { extra: 1 }, "extra"],
    ["a missing signature", { signature: undefined }, "signature"],
    ["a short signature", { signature: "0x1234" }, "signature"],
    ["valid_until before issued_at", { valid_until: "2024-12-31T00:00:00.000Z" }, "valid_until"],
    ["a window longer than the maximum", { valid_until: "2025-03-01T00:00:00.000Z" }, "valid_until"],
    ["a non-UTC time", { issued_at: "2025-01-01T00:00:00+01:00" }, "issued_at"],
    ["an impossible date", { issued_at: "2025-02-30T00:00:00.000Z" }, "issued_at"],
    ["an upper-case nonce", { nonce: "000102030405060708090A0B0C0D0E0F" }, "nonce"],
  ];
  for (const [name, change, path] of broken) {
    test(`refuses ${name}`, () => {
      const manifest: Record<string, unknown> = { ...vectors.manifest, ...change };
      for (const key of Object.keys(change)) if (change[key] === undefined) delete manifest[key];
      expect(codeOf(() => parseManifest(manifest))).toBe("manifest_invalid");
      expect(messageOf(() => parseManifest(manifest))).toContain(path);
    });
  }
});

describe("createNonce", () => {
  test("returns 32 lowercase hex characters", () => {
    expect(createNonce()).toMatch(/^[0-9a-f]{32}$/);
  });
});
