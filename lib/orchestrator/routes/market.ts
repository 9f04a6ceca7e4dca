/**
 * `GET /api/workers/market`: published offers and the network default ask. Offers arrive with
 * signed price manifests; until one is stored the list is empty, never an invented worker.
 */
import { NETWORK_DEFAULT_ASK, PRICE_RAILS } from "../../core/price-rails.ts";
import { type Handler, sendJson } from "../http.ts";

export function marketRoute(): Handler {
  return ({ res }) => {
    sendJson(res, 200, {
      offers: [],
      networkDefault: { ...NETWORK_DEFAULT_ASK },
      rails: {
        prompt_floor: PRICE_RAILS.promptFloor.toString(),
        output_floor: PRICE_RAILS.outputFloor.toString(),
        price_max: PRICE_RAILS.priceMax.toString(),
        min_job_credits_floor: PRICE_RAILS.minJobCreditsFloor.toString(),
        high_price: PRICE_RAILS.highPrice.toString(),
      },
      unit: "raw micro-credits per 1M tokens (1 whole credit = 1000000 raw)",
    });
  };
}
