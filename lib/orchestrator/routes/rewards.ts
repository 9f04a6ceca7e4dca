/** `GET /api/workers/:id/rewards`: the worker's ledger, with settlement plainly gated. */
import { type Handler, HttpError, json } from "../http.ts";
import { rewardsView } from "../rewards.ts";
import type { ApiDeps } from "./_api.ts";
import { requireWorker } from "./workers.ts";

export const DEFAULT_ENTRY_LIMIT = 50;
export const MAX_ENTRY_LIMIT = 500;

function parseLimit(text: string | null): number {
  if (text === null) return DEFAULT_ENTRY_LIMIT;
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > MAX_ENTRY_LIMIT) {
    throw new HttpError(400, "invalid_request", `limit must be a whole number from 1 to ${MAX_ENTRY_LIMIT}.`, { field: "limit" });
  }
  return Number(text);
}

export function rewardsRoute(deps: ApiDeps): Handler {
  return async ({ params, url }) => {
    const limit = parseLimit(url.searchParams.get("limit"));
    const record = await requireWorker(deps, params.id);
    return json(200, await rewardsView(deps.store, record, limit));
  };
}
