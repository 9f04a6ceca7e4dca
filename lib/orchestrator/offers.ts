/**
 * Price/model offers as the market shows them. An offer is stored once and never changes; its
 * state is worked out each time it is read, because the facts behind it (the clock, whether the
 * worker is online, when it last passed the network's verification job) move on without the offer.
 */
import { randomBytes } from "node:crypto";
import type { AnswerOf, MarketOfferSchema, OfferState, PriceFlagSchema } from "../core/api-contract.ts";
import type { Manifest } from "../core/manifest.ts";
import type { OfferRecord } from "./store.ts";

export type { OfferState };

/** A passed verification job counts for this long; after that the offer reads self_reported again. */
export const VERIFICATION_VALID_MS = 24 * 60 * 60 * 1000;

export interface OfferEvidence {
  /** Epoch ms of the manifest's valid_until. */
  validUntil: number;
  /** The presence rule's verdict (socket session, or an HTTP heartbeat within its window). */
  online: boolean;
  /** When the worker last passed the verification job (routes/verification.ts), or null. */
  verifiedAt: number | null;
  now: number;
}

/** Expiry beats everything; an offline worker's offer is stale, however well it once did. */
export function judgeOfferState(evidence: OfferEvidence): OfferState {
  const { validUntil, online, verifiedAt, now } = evidence;
  if (now >= validUntil) return "expired";
  if (!online) return "stale";
  if (verifiedAt !== null && verifiedAt <= now && now - verifiedAt <= VERIFICATION_VALID_MS) return "verified";
  return "self_reported";
}

/** Until when a pass at `verifiedAt` keeps an offer verified, or null. */
export function verifiedUntil(verifiedAt: number | null): string | null {
  return verifiedAt === null ? null : new Date(verifiedAt + VERIFICATION_VALID_MS).toISOString();
}

export function newOfferId(): string {
  return `off_${randomBytes(12).toString("hex")}`;
}

/** One offer as `GET /api/workers/market` lists it: prices stay decimal strings. */
export function describeOffer(offer: OfferRecord, state: OfferState, verifiedAt: number | null): AnswerOf<typeof MarketOfferSchema> {
  const manifest = JSON.parse(offer.manifest) as Manifest;
  return {
    offerId: offer.offer_id,
    priceVersion: offer.price_version,
    state,
    worker_id: offer.worker_id,
    worker_wallet: offer.worker_wallet,
    models: manifest.models,
    // Nobody can check hardware claims; the name says so.
    selfReportedHardware: manifest.hardware,
    flags: JSON.parse(offer.flags) as AnswerOf<typeof PriceFlagSchema>[],
    issuedAt: new Date(offer.issued_at).toISOString(),
    validUntil: new Date(offer.valid_until).toISOString(),
    acceptedAt: new Date(offer.accepted_at).toISOString(),
    verifiedAt: verifiedAt === null ? null : new Date(verifiedAt).toISOString(),
    // The signed manifest as accepted, so a buyer can check the signature without trusting us.
    manifest,
  };
}
