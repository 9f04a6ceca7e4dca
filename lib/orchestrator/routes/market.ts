/**
 * `GET /api/workers/market`: the latest accepted offer of each worker, with its read-time
 * state, and the network default ask. With no offers the list is empty, never an invented worker.
 */
import { NETWORK_DEFAULT_ASK, PRICE_RAILS } from "../../core/price-rails.ts";
import { MarketSchema } from "../../core/api-contract.ts";
import { answer, type Handler } from "../http.ts";
import { describeOffer, judgeOfferState } from "../offers.ts";
import type { ApiDeps } from "./_api.ts";
import { presenceOf } from "./workers.ts";

export async function listMarketOffers(deps: ApiDeps) {
  const now = deps.now();
  const [offers, workers, live] = await Promise.all([deps.store.listLatestOffers(), deps.store.listWorkers(), deps.fleet.all()]);
  const byId = new Map(workers.map((worker) => [worker.worker_id, worker]));
  const liveById = new Map(live.map((worker) => [worker.info.worker_id, worker]));
  return offers.flatMap((offer) => {
    const worker = byId.get(offer.worker_id);
    if (!worker) return [];
    const online = presenceOf(deps, worker, liveById.get(worker.worker_id)).online;
    const state = judgeOfferState({ validUntil: offer.valid_until, online, verifiedAt: worker.verified_at, now });
    return [describeOffer(offer, state, worker.verified_at)];
  });
}

export function marketRoute(deps: ApiDeps): Handler {
  return async () => {
    return answer(MarketSchema, 200, {
      offers: await listMarketOffers(deps),
      networkDefault: { ...NETWORK_DEFAULT_ASK },
      rails: {
        prompt_floor: PRICE_RAILS.promptFloor.toString(),
        output_floor: PRICE_RAILS.outputFloor.toString(),
        price_max: PRICE_RAILS.priceMax.toString(),
        min_job_credits_floor: PRICE_RAILS.minJobCreditsFloor.toString(),
        high_price: PRICE_RAILS.highPrice.toString(),
      },
      unit: "raw micro-credits per 1M tokens (1 whole credit = 1000000 raw)",
      states: {
        self_reported: "valid signature, within the rails, not expired; capability not proven",
        verified: "also passed the network's verification job in the last 24 hours (not proof of model identity)",
        stale: "the worker is not online",
        expired: "valid_until has passed",
      },
      note: "An offer is an ask, not income: rewards accrue only for completed, verified, worker-routed jobs; job routing is opt-in and settlement is gated.",
    });
  };
}
