import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { Hex } from "viem";
import { buildManifest, type ModelOffer, type UnsignedManifest } from "../../../lib/core/manifest.ts";
import { signManifest } from "../../../lib/core/manifest-signature.ts";
import { PRICE_RAILS } from "../../../lib/core/price-rails.ts";
import type { Orchestrator } from "../../../lib/orchestrator/server.ts";
import type { SqliteStore } from "../../../lib/orchestrator/sqlite-store.ts";
import { DEFAULT_MODEL_OFFER, throwawayKey } from "../../helpers/prices.ts";
import { call, register, registration, startApi } from "../_helpers.ts";

// Throwaway keys derived from labels at run time: public, no funds, test only.
const { key: KEY, wallet: WALLET } = throwawayKey("basis-worker prices route test key A");
const { key: OTHER_KEY, wallet: OTHER_WALLET } = throwawayKey("basis-worker prices route test key B");
const HOUR = 3_600_000;

const MODEL = DEFAULT_MODEL_OFFER;

let api: Orchestrator;
let issued = Date.now() - HOUR;

beforeEach(async () => {
  api = await startApi();
  await register(api, registration("gpu-1", WALLET));
  issued = Date.now() - HOUR;
});
afterEach(async () => {
  await api.close();
});

interface ManifestOptions {
  workerId?: string;
  wallet?: string;
  key?: Hex;
  model?: Partial<Record<keyof ModelOffer, unknown>>;
  at?: number;
  ttlSeconds?: number;
  nonce?: string;
}

/** Signs like the worker does; rails are checked by the server only, so bad prices can be sent. */
async function signed(options: ManifestOptions = {}) {
  // Each manifest is issued a second after the last, so replay ordering holds unless a test says otherwise.
  const at = options.at ?? (issued += 1000);
  const unsigned = buildManifest({
    prices: { hardware: { gpu: "RTX 4090" }, models: [MODEL] },
    workerId: options.workerId ?? "gpu-1",
    workerWallet: options.wallet ?? WALLET,
    now: new Date(at),
    ...(options.ttlSeconds ? { ttlSeconds: options.ttlSeconds } : {}),
    ...(options.nonce ? { nonce: options.nonce } : {}),
  });
  const withModel = { ...unsigned, models: [{ ...MODEL, ...options.model }] } as UnsignedManifest;
  return (await signManifest(withModel, options.key ?? KEY)).manifest;
}

const publish = (manifest: unknown) => call(api, "POST", "/api/workers/prices", manifest);
const market = () => call(api, "GET", "/api/workers/market");

describe("pricesRoute", () => {
  test("accepts a signed manifest and the market lists it with its prices as strings", async () => {
    await call(api, "POST", "/api/workers/heartbeat", { worker_id: "gpu-1" });
    const answer = await publish(await signed());
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ priceVersion: 1, state: "self_reported", worker_id: "gpu-1", worker_wallet: WALLET, models: ["basis-default"] });
    expect(answer.body.offerId).toMatch(/^off_[0-9a-f]{24}$/);

    const listed = await market();
    expect(listed.body.offers).toHaveLength(1);
    expect(listed.body.offers[0]).toMatchObject({ offerId: answer.body.offerId, priceVersion: 1, state: "self_reported", worker_id: "gpu-1" });
    expect(listed.body.offers[0].models[0]).toMatchObject({ prompt_credits_per_1m: "460000000", output_credits_per_1m: "1840000000", min_job_credits: "50000000" });
    expect(listed.body.networkDefault.prompt_credits_per_1m).toBe("460000000");
  });

  test("gives each accepted offer the next priceVersion and lists only the latest", async () => {
    const versions: number[] = [];
    for (const price of ["100000000", "200000000", "300000000"]) {
      versions.push((await publish(await signed({ model: { prompt_credits_per_1m: price } }))).body.priceVersion);
    }
    expect(versions).toEqual([1, 2, 3]);
    const offers = (await market()).body.offers;
    expect(offers).toHaveLength(1);
    expect(offers[0]).toMatchObject({ priceVersion: 3 });
    expect(offers[0].models[0].prompt_credits_per_1m).toBe("300000000");
  });

  const limit = (rail: bigint, delta: bigint) => (rail + delta).toString();
  const RAIL_CASES: [string, keyof ModelOffer, string, string][] = [
    ["prompt_floor", "prompt_credits_per_1m", limit(PRICE_RAILS.promptFloor, 0n), limit(PRICE_RAILS.promptFloor, -1n)],
    ["output_floor", "output_credits_per_1m", limit(PRICE_RAILS.outputFloor, 0n), limit(PRICE_RAILS.outputFloor, -1n)],
    ["price_max", "prompt_credits_per_1m", limit(PRICE_RAILS.priceMax, 0n), limit(PRICE_RAILS.priceMax, 1n)],
    ["price_max", "output_credits_per_1m", limit(PRICE_RAILS.priceMax, 0n), limit(PRICE_RAILS.priceMax, 1n)],
    ["min_job_credits_floor", "min_job_credits", limit(PRICE_RAILS.minJobCreditsFloor, 0n), limit(PRICE_RAILS.minJobCreditsFloor, -1n)],
  ];
  for (const [rail, field, atLimit, beyond] of RAIL_CASES) {
    test(`${field} at the ${rail} limit passes, one past it is refused naming field and rail`, async () => {
      expect((await publish(await signed({ model: { [field]: atLimit } }))).status).toBe(201);
      const refused = await publish(await signed({ model: { [field]: beyond } }));
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ error: "price_out_of_rails", field: `models[0].${field}`, rail });
    });
  }

  test("flags a price above the high mark but accepts it", async () => {
    const answer = await publish(await signed({ model: { output_credits_per_1m: (PRICE_RAILS.highPrice + 1n).toString() } }));
    expect(answer.status).toBe(201);
    expect(answer.body.flags).toEqual([{ field: "models[0].output_credits_per_1m", flag: "high" }]);
  });

  const MALFORMED: [string, (m: Record<string, unknown>) => unknown, string][] = [
    ["a price as a JSON number", (m) => ({ ...m, models: [{ ...(m.models as object[])[0], prompt_credits_per_1m: 460000000 }] }), "models[0].prompt_credits_per_1m"],
    ["a price with a leading zero", (m) => ({ ...m, models: [{ ...(m.models as object[])[0], min_job_credits: "050000000" }] }), "models[0].min_job_credits"],
    ["a missing nonce", ({ nonce: _n, ...rest }) => rest, "nonce"],
    ["a member the signer did not sign", (m) => ({ ...m, note: "extra" }), "note"],
    ["no signature", ({ signature: _s, ...rest }) => rest, "signature"],
  ];
  for (const [what, mutate, field] of MALFORMED) {
    test(`refuses ${what} as invalid_manifest naming ${field}`, async () => {
      const answer = await publish(mutate((await signed()) as unknown as Record<string, unknown>));
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ error: "invalid_manifest", field });
    });
  }

  test("refuses a body that is not JSON or not an object", async () => {
    expect((await publish("{not json")).body.error).toBe("invalid_json");
    expect((await publish([])).body.error).toBe("invalid_request");
  });

  test("refuses a key-shaped value anywhere in the body and does not echo it", async () => {
    const manifest = { ...(await signed()), hardware: { gpu: KEY } };
    const answer = await publish(manifest);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe("secret_refused");
    expect(answer.text).not.toContain(KEY.slice(2));
  });

  test("refuses a field changed after signing (403)", async () => {
    const manifest = await signed();
    const tampered = { ...manifest, models: [{ ...manifest.models[0], output_credits_per_1m: "1840000001" }] };
    const answer = await publish(tampered);
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ error: "signer_not_registered_wallet", reason: "signer_mismatch" });
  });

  test("refuses a manifest signed by a wallet other than the registered one (403)", async () => {
    const answer = await publish(await signed({ wallet: OTHER_WALLET, key: OTHER_KEY }));
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ error: "signer_not_registered_wallet", reason: "wallet_mismatch" });
  });

  test("refuses a signature that recovers no address (403)", async () => {
    const answer = await publish({ ...(await signed()), signature: `0x${"00".repeat(65)}` });
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ error: "signer_not_registered_wallet", reason: "bad_signature" });
  });

  test("refuses an unregistered worker id (404)", async () => {
    const answer = await publish(await signed({ workerId: "gpu-unknown" }));
    expect(answer.status).toBe(404);
    expect(answer.body.error).toBe("worker_not_found");
  });

  test("refuses an expired offer and one issued too far in the future", async () => {
    const expired = await publish(await signed({ at: Date.now() - 2 * HOUR, ttlSeconds: 3600 }));
    expect(expired.status).toBe(400);
    expect(expired.body).toMatchObject({ error: "offer_expired", field: "valid_until" });
    const early = await publish(await signed({ at: Date.now() + 10 * 60_000 }));
    expect(early.status).toBe(400);
    expect(early.body).toMatchObject({ error: "offer_not_yet_valid", field: "issued_at" });
    expect((await market()).body.offers).toEqual([]);
  });

  test("refuses a replayed manifest (same nonce) with 409 and keeps one offer", async () => {
    const manifest = await signed();
    expect((await publish(manifest)).status).toBe(201);
    const again = await publish(manifest);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: "offer_replayed", reason: "nonce_used", latestPriceVersion: 1 });
    expect((await market()).body.offers[0].priceVersion).toBe(1);
  });

  test("refuses an offer whose issued_at is not newer than the latest accepted one", async () => {
    const older = await signed();
    const newer = await signed();
    expect((await publish(newer)).status).toBe(201);
    const late = await publish(older);
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ error: "offer_replayed", reason: "not_newer" });
    const sameTime = await publish(await signed({ at: Date.parse(newer.issued_at) }));
    expect(sameTime.body.reason).toBe("not_newer");
  });

  test("stores offers immutably: the store refuses to change or delete one", async () => {
    await publish(await signed());
    const { db } = api.store as SqliteStore;
    expect(() => db.run("UPDATE offers SET manifest = '{}'")).toThrow(/immutable/);
    expect(() => db.run("DELETE FROM offers")).toThrow(/immutable/);
  });
});
