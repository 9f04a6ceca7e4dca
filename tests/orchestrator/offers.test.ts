import { afterEach, describe, expect, test } from "bun:test";
import { buildManifest } from "../../lib/core/manifest.ts";
import { signManifest } from "../../lib/core/manifest-signature.ts";
import { VERIFICATION_VALID_MS, describeOffer, judgeOfferState, newOfferId, type OfferState } from "../../lib/orchestrator/offers.ts";
import type { Orchestrator } from "../../lib/orchestrator/server.ts";
import type { OfferRecord } from "../../lib/orchestrator/store.ts";
import { DEFAULT_MODEL_OFFER, throwawayKey } from "../helpers/prices.ts";
import { call, register, registration, startApi } from "./_helpers.ts";

// A throwaway key derived from a label at run time: public, no funds, test only.
const { key: KEY, wallet: WALLET } = throwawayKey("basis-worker offers test key");
const NOW = Date.parse("2030-01-01T00:00:00.000Z");
const DAY = 86_400_000;
const PRICES = {
  hardware: { gpu: "RTX 4090", vram_gib: 24 },
  models: [DEFAULT_MODEL_OFFER],
};

describe("judgeOfferState", () => {
  const CASES: [string, { validUntil: number; online: boolean; verifiedAt: number | null }, OfferState][] = [
    ["an online worker with no verification is self_reported", { validUntil: NOW + DAY, online: true, verifiedAt: null }, "self_reported"],
    ["a verification passed an hour ago makes it verified", { validUntil: NOW + DAY, online: true, verifiedAt: NOW - 3_600_000 }, "verified"],
    ["a verification exactly 24 h old still counts", { validUntil: NOW + DAY, online: true, verifiedAt: NOW - VERIFICATION_VALID_MS }, "verified"],
    ["a verification older than 24 h no longer counts", { validUntil: NOW + DAY, online: true, verifiedAt: NOW - VERIFICATION_VALID_MS - 1 }, "self_reported"],
    ["a verification time in the future does not count", { validUntil: NOW + DAY, online: true, verifiedAt: NOW + 1 }, "self_reported"],
    ["an offline worker is stale even when verified", { validUntil: NOW + DAY, online: false, verifiedAt: NOW }, "stale"],
    ["valid_until itself is expired", { validUntil: NOW, online: true, verifiedAt: NOW }, "expired"],
    ["expiry wins over stale", { validUntil: NOW - 1, online: false, verifiedAt: null }, "expired"],
  ];
  for (const [behaviour, evidence, state] of CASES) {
    test(behaviour, () => {
      expect(judgeOfferState({ ...evidence, now: NOW })).toBe(state);
    });
  }
});

describe("newOfferId", () => {
  test("makes a fresh off_ id each time", () => {
    const ids = new Set(Array.from({ length: 50 }, () => newOfferId()));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^off_[0-9a-f]{24}$/);
  });
});

describe("describeOffer", () => {
  test("shows the signed manifest, prices as strings and hardware as self-reported", async () => {
    const unsigned = buildManifest({ prices: PRICES, workerId: "gpu-1", workerWallet: WALLET, now: new Date(NOW) });
    const { manifest } = await signManifest(unsigned, KEY);
    const record: OfferRecord = {
      offer_id: "off_1",
      worker_id: "gpu-1",
      worker_wallet: WALLET,
      price_version: 4,
      nonce: manifest.nonce,
      issued_at: NOW,
      valid_until: Date.parse(manifest.valid_until),
      manifest: JSON.stringify(manifest),
      flags: "[]",
      accepted_at: NOW + 5,
    };
    const view = describeOffer(record, "verified", NOW);
    expect(view).toMatchObject({ offerId: "off_1", priceVersion: 4, state: "verified", worker_id: "gpu-1", flags: [] });
    expect(view.models[0]?.output_credits_per_1m).toBe("1840000000");
    expect(view.selfReportedHardware).toEqual(PRICES.hardware);
    expect(view.manifest.signature).toBe(manifest.signature);
    expect(view.verifiedAt).toBe(new Date(NOW).toISOString());
  });
});

describe("market overlay (GET /api/workers/market)", () => {
  let api: Orchestrator | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  async function publishAt(clock: () => number) {
    api = await startApi({ now: clock, heartbeatWindowMs: 90_000 });
    await register(api, registration("gpu-1", WALLET));
    const unsigned = buildManifest({ prices: PRICES, workerId: "gpu-1", workerWallet: WALLET, now: new Date(clock()), ttlSeconds: 3600 });
    const answer = await call(api, "POST", "/api/workers/prices", (await signManifest(unsigned, KEY)).manifest);
    expect(answer.status).toBe(201);
    return api;
  }
  const stateNow = async (a: Orchestrator) => (await call(a, "GET", "/api/workers/market")).body.offers[0].state;

  test("reads stale while the worker is offline and self_reported while it heartbeats", async () => {
    let clock = NOW;
    const a = await publishAt(() => clock);
    expect(await stateNow(a)).toBe("stale");
    await call(a, "POST", "/api/workers/heartbeat", { worker_id: "gpu-1" });
    expect(await stateNow(a)).toBe("self_reported");
    clock += 90_001;
    expect(await stateNow(a)).toBe("stale");
  });

  test("reads expired once valid_until passes, while the stored offer stays as accepted", async () => {
    let clock = NOW;
    const a = await publishAt(() => clock);
    await call(a, "POST", "/api/workers/heartbeat", { worker_id: "gpu-1" });
    clock += 3_600_000;
    const offer = (await call(a, "GET", "/api/workers/market")).body.offers[0];
    expect(offer.state).toBe("expired");
    expect(offer.priceVersion).toBe(1);
    expect((await a.store.latestOffer("gpu-1"))?.valid_until).toBe(NOW + 3_600_000);
  });

  test("a worker without offers is not listed, even when it is registered", async () => {
    api = await startApi();
    await register(api, registration("gpu-1", WALLET));
    const answer = await call(api, "GET", "/api/workers/market");
    expect(answer.body.offers).toEqual([]);
    expect(answer.body.networkDefault.output_credits_per_1m).toBe("1840000000");
  });
});
