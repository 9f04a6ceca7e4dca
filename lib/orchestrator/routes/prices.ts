/**
 * `POST /api/workers/prices`: a signed price/model manifest in, an immutable offer out. The
 * checks run in the order docs/PRICES.md gives, with the same pure modules the worker used to
 * sign, so client and server cannot disagree about a rail or the signed bytes.
 */
import * as v from "valibot";
import { isBasisError } from "../../core/errors.ts";
import { type Manifest, parseManifest, type SchemaProblem } from "../../core/manifest.ts";
import { checkExpiry, verifyManifestSigner } from "../../core/manifest-signature.ts";
import { checkModelsRails } from "../../core/price-rails.ts";
import { OfferAcceptedSchema } from "../../core/api-contract.ts";
import { answer, type Handler, HttpError } from "../http.ts";
import { newOfferId } from "../offers.ts";
import { type ApiDeps, readApiBody } from "./_api.ts";

function parseBody(value: unknown): Manifest {
  try {
    return parseManifest(value);
  } catch (error) {
    if (!isBasisError(error)) throw error;
    const problem = (error.details?.problems as SchemaProblem[] | undefined)?.[0];
    // The core's message names the path and the rule, never the value.
    throw new HttpError(400, "invalid_manifest", error.message, { field: problem?.path || "body" });
  }
}

function checkRails(manifest: Manifest) {
  const rails = checkModelsRails(manifest.models);
  const first = rails.violations[0];
  if (first) {
    throw new HttpError(400, "price_out_of_rails", first.message, {
      field: first.field,
      rail: first.rail,
      limit: first.limit,
      violations: rails.violations.map(({ field, rail, limit }) => ({ field, rail, limit })),
    });
  }
  return rails.flags;
}

async function checkSigner(deps: ApiDeps, manifest: Manifest): Promise<void> {
  const worker = await deps.store.getWorker(manifest.worker_id);
  if (!worker) {
    throw new HttpError(404, "worker_not_found", `No worker ${manifest.worker_id} is registered.`, {
      field: "worker_id",
      hint: "Register the worker first (basis-worker register), then publish its prices.",
    });
  }
  const verdict = await verifyManifestSigner(manifest, worker.worker_wallet);
  if (!verdict.ok) {
    throw new HttpError(403, "signer_not_registered_wallet", `The signature does not recover the wallet registered for ${manifest.worker_id}.`, {
      reason: verdict.reason,
      hint: "Sign with the private key of the reward wallet the worker registered with.",
    });
  }
}

function checkWindow(deps: ApiDeps, manifest: Manifest): void {
  const expiry = checkExpiry(manifest, new Date(deps.now()));
  if (expiry.reason === "expired") {
    throw new HttpError(400, "offer_expired", "The manifest's valid_until has passed.", { field: "valid_until" });
  }
  if (expiry.reason === "not_yet_valid") {
    throw new HttpError(400, "offer_not_yet_valid", "The manifest's issued_at is ahead of the server clock by more than the allowed skew.", {
      field: "issued_at",
    });
  }
}

export function pricesRoute(deps: ApiDeps): Handler {
  return async ({ request }) => {
    const manifest = parseBody(await readApiBody(request, v.unknown()));
    const flags = checkRails(manifest);
    await checkSigner(deps, manifest);
    checkWindow(deps, manifest);
    const outcome = await deps.store.insertOffer({
      offer_id: newOfferId(),
      worker_id: manifest.worker_id,
      worker_wallet: manifest.worker_wallet,
      nonce: manifest.nonce,
      issued_at: Date.parse(manifest.issued_at),
      valid_until: Date.parse(manifest.valid_until),
      manifest: JSON.stringify(manifest),
      flags: JSON.stringify(flags),
      accepted_at: deps.now(),
    });
    if (!outcome.ok) {
      const why = outcome.reason === "nonce_used" ? "its nonce was used before" : "its issued_at is not newer than the latest accepted offer";
      throw new HttpError(409, "offer_replayed", `Refused as a replay: ${why}.`, {
        reason: outcome.reason,
        ...(outcome.latest ? { latestPriceVersion: outcome.latest.price_version } : {}),
        hint: "Sign a fresh manifest (basis-worker price publish does so each run).",
      });
    }
    const { offer } = outcome;
    return answer(OfferAcceptedSchema, 201, {
      offerId: offer.offer_id,
      priceVersion: offer.price_version,
      // Acceptance proves the signature and the rails only; GET /api/workers/market applies the
      // read-time states (verified, stale, expired).
      state: "self_reported",
      worker_id: offer.worker_id,
      worker_wallet: offer.worker_wallet,
      models: manifest.models.map((model) => model.model_id),
      flags,
      validUntil: manifest.valid_until,
    });
  };
}
