/**
 * `GET /v1/models` and `GET /v1/models/:id`: the models online workers serve, in OpenAI's list
 * and model shapes, with the same auth as dispatch (server.ts). Clustered, workers on every
 * instance count.
 */
import type { Fleet } from "../fleet.ts";
import { ModelListSchema, ModelSchema } from "../../core/api-contract.ts";
import { answer, type Handler, HttpError } from "../http.ts";

function modelEntry(id: string, workers: number, created: number) {
  return { id, object: "model" as const, created, owned_by: "basis" as const, workers };
}

async function servedModels(fleet: Fleet): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const worker of await fleet.all()) {
    for (const model of worker.info.models) counts.set(model, (counts.get(model) ?? 0) + 1);
  }
  return counts;
}

/** `created` is when this orchestrator started: a model's first worker here may come and go. */
export function modelsRoute(fleet: Fleet, startedAt: number): Handler {
  const created = Math.floor(startedAt / 1000);
  return async () => {
    const counts = await servedModels(fleet);
    const data = [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([id, n]) => modelEntry(id, n, created));
    return answer(ModelListSchema, 200, { object: "list", data });
  };
}

export function modelRoute(fleet: Fleet, startedAt: number): Handler {
  const created = Math.floor(startedAt / 1000);
  return async ({ params }) => {
    const id = params.id ?? "";
    const workers = (await servedModels(fleet)).get(id);
    if (workers === undefined) throw new HttpError(404, "model_not_found", `No online worker serves the model ${id}.`, { param: "model" });
    return answer(ModelSchema, 200, modelEntry(id, workers, created));
  };
}
