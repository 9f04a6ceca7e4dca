/**
 * `GET /v1/models` and `GET /v1/models/:id`: the models online workers serve, in OpenAI's list
 * and model shapes, with the same auth as dispatch. Clustered, workers on every instance count.
 */
import type { Fleet } from "../fleet.ts";
import { type Handler, HttpError, json, requireBearer } from "../http.ts";

function modelEntry(id: string, workers: number, created: number) {
  return { id, object: "model", created, owned_by: "basis", workers };
}

async function servedModels(fleet: Fleet): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const worker of await fleet.all()) {
    for (const model of worker.info.models) counts.set(model, (counts.get(model) ?? 0) + 1);
  }
  return counts;
}

/** `created` is when this orchestrator started: a model's first worker here may come and go. */
export function modelsRoute(fleet: Fleet, secret: string | undefined, startedAt: number): Handler {
  const created = Math.floor(startedAt / 1000);
  return async ({ request }) => {
    requireBearer(request, secret);
    const counts = await servedModels(fleet);
    const data = [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([id, n]) => modelEntry(id, n, created));
    return json(200, { object: "list", data });
  };
}

export function modelRoute(fleet: Fleet, secret: string | undefined, startedAt: number): Handler {
  const created = Math.floor(startedAt / 1000);
  return async ({ request, params }) => {
    requireBearer(request, secret);
    const id = params.id ?? "";
    const workers = (await servedModels(fleet)).get(id);
    if (workers === undefined) throw new HttpError(404, "model_not_found", `No online worker serves the model ${id}.`, { param: "model" });
    return json(200, modelEntry(id, workers, created));
  };
}
