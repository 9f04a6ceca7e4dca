/**
 * The price/model manifest: the operator's local prices file, and the snake_case manifest a
 * worker signs and publishes (docs/PRICES.md). Both are strict objects: an unknown field in the
 * prices file is most likely a typo, and one in a published manifest would be a field the
 * signature might not cover, so both are refused rather than dropped.
 */
import { MODEL_NAME_PATTERN, MODEL_NAME_RULE } from "./model-name.ts";
import { describeIssues, type SchemaProblem } from "./schema-issues.ts";
import { WALLET_PATTERN } from "./address.ts";
import { WORKER_ID_PATTERN, WORKER_ID_RULE } from "./worker-id.ts";
import * as v from "valibot";
import { BasisError } from "./errors.ts";
import { assertWithinRails, MICRO_CREDITS_MESSAGE, MICRO_CREDITS_PATTERN } from "./price-rails.ts";
import { parseWallet } from "./wallet.ts";

export const DEFAULT_TTL_SECONDS = 7 * 24 * 60 * 60;
/** A longer offer would outlive price changes; the server refuses it as well. */
export const MAX_TTL_SECONDS = 30 * 24 * 60 * 60;
const MAX_TOKENS = 100_000_000;
const MAX_HARDWARE_JSON_CHARS = 4_096;

const MICRO_CREDITS = v.pipe(v.string(MICRO_CREDITS_MESSAGE), v.regex(MICRO_CREDITS_PATTERN, MICRO_CREDITS_MESSAGE));
const SLUG_MESSAGE = `must be ${WORKER_ID_RULE}`;
const SLUG = v.pipe(v.string(SLUG_MESSAGE), v.regex(WORKER_ID_PATTERN, SLUG_MESSAGE));
const MODEL_ID_MESSAGE = `must be a model ${MODEL_NAME_RULE}`;
const MODEL_ID = v.pipe(v.string(MODEL_ID_MESSAGE), v.regex(MODEL_NAME_PATTERN, MODEL_ID_MESSAGE));

function positiveInteger(max: number) {
  const message = `must be a whole number from 1 to ${max} (a JSON number)`;
  return v.pipe(v.number(message), v.integer(message), v.minValue(1, message), v.maxValue(max, message));
}

/** Hardware is self-reported and free-form, but must be plain, small JSON. */
type HardwareValue = string | number | boolean | null | HardwareValue[] | { [key: string]: HardwareValue };
const HARDWARE_VALUE_MESSAGE = "must be a string, finite number, boolean, null, array or object";
const HardwareValueSchema: v.GenericSchema<HardwareValue> = v.lazy(() =>
  v.union(
    [
      v.pipe(v.string(), v.maxLength(500, "must be at most 500 characters")),
      v.pipe(v.number(), v.finite()),
      v.boolean(),
      v.null(),
      v.array(HardwareValueSchema),
      v.record(v.string(), HardwareValueSchema),
    ],
    HARDWARE_VALUE_MESSAGE,
  ),
);
export const HardwareSchema = v.pipe(
  v.record(v.string(), HardwareValueSchema, "must be a JSON object, e.g. {\"gpu\": \"RTX 4090\", \"vram_gib\": 24}"),
  v.check((hardware) => JSON.stringify(hardware).length <= MAX_HARDWARE_JSON_CHARS, `must be at most ${MAX_HARDWARE_JSON_CHARS} characters of JSON`),
);
export type Hardware = v.InferOutput<typeof HardwareSchema>;

export const ModelOfferSchema = v.pipe(
  v.strictObject({
    model_id: MODEL_ID,
    runtime: SLUG,
    prompt_credits_per_1m: MICRO_CREDITS,
    output_credits_per_1m: MICRO_CREDITS,
    min_job_credits: MICRO_CREDITS,
    max_context_tokens: positiveInteger(MAX_TOKENS),
    max_output_tokens: positiveInteger(MAX_TOKENS),
    concurrency: positiveInteger(1024),
  }),
  v.forward(
    v.check((model) => model.max_output_tokens <= model.max_context_tokens, "must not exceed max_context_tokens"),
    ["max_output_tokens"],
  ),
);
export type ModelOffer = v.InferOutput<typeof ModelOfferSchema>;

const ModelsSchema = v.pipe(
  v.array(ModelOfferSchema, "must be an array of model offers"),
  v.minLength(1, "must list at least one model"),
  v.maxLength(64, "must list at most 64 models"),
  v.check((models) => new Set(models.map((model) => model.model_id)).size === models.length, "must not list the same model_id twice"),
);

/** The local prices file the operator edits (templates/prices.example.json). */
export const PricesFileSchema = v.strictObject({ hardware: HardwareSchema, models: ModelsSchema });
export type PricesFile = v.InferOutput<typeof PricesFileSchema>;

const ISO_UTC_MESSAGE = "must be an ISO-8601 UTC time such as 2025-01-31T12:00:00.000Z";
const ISO_UTC = v.pipe(
  v.string(ISO_UTC_MESSAGE),
  v.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/, ISO_UTC_MESSAGE),
  // Date.parse accepts 2025-02-30 by rolling over; a round trip catches such dates.
  v.check((text) => {
    const time = Date.parse(text);
    return !Number.isNaN(time) && new Date(time).toISOString().slice(0, 19) === text.slice(0, 19);
  }, ISO_UTC_MESSAGE),
);
const NONCE_MESSAGE = "must be 32 lowercase hex characters (128 random bits)";
const NONCE = v.pipe(v.string(NONCE_MESSAGE), v.regex(/^[0-9a-f]{32}$/, NONCE_MESSAGE));
const WALLET_MESSAGE = "must be a 0x-prefixed 40-hex address";
const WALLET = v.pipe(v.string(WALLET_MESSAGE), v.regex(WALLET_PATTERN, WALLET_MESSAGE));
const SIGNATURE_MESSAGE = "must be a 0x-prefixed 65-byte (130-hex) signature";
const SIGNATURE = v.pipe(v.string(SIGNATURE_MESSAGE), v.regex(/^0x[0-9a-fA-F]{130}$/, SIGNATURE_MESSAGE));

const UNSIGNED_ENTRIES = {
  worker_id: SLUG,
  worker_wallet: WALLET,
  hardware: HardwareSchema,
  models: ModelsSchema,
  issued_at: ISO_UTC,
  valid_until: ISO_UTC,
  nonce: NONCE,
};

function checkValidityWindow(manifest: { issued_at: string; valid_until: string }): boolean {
  const seconds = (Date.parse(manifest.valid_until) - Date.parse(manifest.issued_at)) / 1000;
  return seconds > 0 && seconds <= MAX_TTL_SECONDS;
}
const WINDOW_MESSAGE = `must be after issued_at and at most ${MAX_TTL_SECONDS / 86_400} days after it`;

export const UnsignedManifestSchema = v.pipe(
  v.strictObject(UNSIGNED_ENTRIES),
  v.forward(v.check((manifest) => checkValidityWindow(manifest), WINDOW_MESSAGE), ["valid_until"]),
);
export type UnsignedManifest = v.InferOutput<typeof UnsignedManifestSchema>;

/** The published manifest, as `POST /api/workers/prices` receives it. */
export const ManifestSchema = v.pipe(
  v.strictObject({ ...UNSIGNED_ENTRIES, signature: SIGNATURE }),
  v.forward(v.check((manifest) => checkValidityWindow(manifest), WINDOW_MESSAGE), ["valid_until"]),
);
export type Manifest = v.InferOutput<typeof ManifestSchema>;
export type { SchemaProblem };

function schemaError(code: string, what: string, issues: readonly v.BaseIssue<unknown>[]): BasisError {
  const problems = describeIssues(issues);
  const first = problems[0] ?? { path: "", message: "is invalid" };
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : "";
  return new BasisError(code, `${what}: ${first.path || "the value"} ${first.message}${more}.`, {
    exitCode: 2,
    hint: "Compare with templates/prices.example.json and docs/PRICES.md.",
    details: { problems },
  });
}

/** Validate prices already parsed from JSON; throws `prices_invalid` naming the path. */
export function parsePrices(value: unknown): PricesFile {
  const result = v.safeParse(PricesFileSchema, value);
  if (!result.success) throw schemaError("prices_invalid", "Prices file", result.issues);
  return result.output;
}

/** Parse the text of a prices file; throws `prices_json_invalid` or `prices_invalid`. */
export function parsePricesFile(jsonText: string): PricesFile {
  let value: unknown;
  try {
    value = JSON.parse(jsonText);
  } catch {
    // The parser's message quotes the text around the error; the file is not echoed.
    throw new BasisError("prices_json_invalid", "The prices file is not valid JSON.", {
      exitCode: 2,
      hint: "Check it with `jq . prices.json`; start again from templates/prices.example.json if needed.",
    });
  }
  return parsePrices(value);
}

/** Validate a received manifest; throws `manifest_invalid` naming the path. */
export function parseManifest(value: unknown): Manifest {
  const result = v.safeParse(ManifestSchema, value);
  if (!result.success) throw schemaError("manifest_invalid", "Manifest", result.issues);
  return result.output;
}

/** 128 random bits as 32 lowercase hex characters (Web Crypto: Bun, Deno and Node alike). */
export function createNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export interface BuildManifestOptions {
  prices: PricesFile;
  workerId: string;
  workerWallet: string;
  now: Date;
  ttlSeconds?: number;
  /** Defaults to a fresh random nonce; pass one for a reproducible manifest. */
  nonce?: string;
}

/**
 * Build the unsigned manifest: validates every input, checks the rails, and throws a
 * BasisError naming the field (and rail) that is wrong. Does not sign.
 */
export function buildManifest(options: BuildManifestOptions): UnsignedManifest {
  const prices = parsePrices(options.prices);
  const workerWallet = parseWallet(options.workerWallet, "worker wallet");
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) {
    throw new BasisError("manifest_ttl_invalid", `The manifest lifetime must be 1 to ${MAX_TTL_SECONDS} whole seconds.`, {
      exitCode: 2,
      hint: `Omit it for the default of ${DEFAULT_TTL_SECONDS / 86_400} days.`,
    });
  }
  if (Number.isNaN(options.now.getTime())) {
    throw new BasisError("manifest_time_invalid", "The current time is not a valid date.");
  }
  assertWithinRails(prices.models);
  const candidate = {
    worker_id: options.workerId,
    worker_wallet: workerWallet,
    hardware: prices.hardware,
    models: prices.models,
    issued_at: options.now.toISOString(),
    valid_until: new Date(options.now.getTime() + ttlSeconds * 1000).toISOString(),
    nonce: options.nonce ?? createNonce(),
  };
  const result = v.safeParse(UnsignedManifestSchema, candidate);
  if (!result.success) throw schemaError("manifest_invalid", "Manifest", result.issues);
  return result.output;
}
