/** `GET /api/workers/:id/rewards`: the worker's ledger, with settlement plainly gated. */
import * as v from "valibot";
import { DEFAULT_ENTRY_LIMIT, EntryLimitSchema, MAX_ENTRY_LIMIT, RewardsSchema } from "../../core/api-contract.ts";
import { answer, type Handler, HttpError } from "../http.ts";
import { rewardsView } from "../rewards.ts";
import type { ApiDeps } from "./_api.ts";
import { requireWorker } from "./workers.ts";

function parseLimit(text: string | null): number {
  if (text === null) return DEFAULT_ENTRY_LIMIT;
  const limit = v.safeParse(EntryLimitSchema, text);
  if (!limit.success) throw new HttpError(400, "invalid_request", `limit must be a whole number from 1 to ${MAX_ENTRY_LIMIT}.`, { field: "limit" });
  return limit.output;
}

export function rewardsRoute(deps: ApiDeps): Handler {
  return async ({ params, url }) => {
    const limit = parseLimit(url.searchParams.get("limit"));
    const record = await requireWorker(deps, params.id);
    return answer(RewardsSchema, 200, await rewardsView(deps.store, record, limit));
  };
}
