/**
 * Reads vLLM's `GET /health` (200, empty body; 503 when the engine died) and `GET /v1/models`
 * (`{"object":"list","data":[{"id":"..."}]}`) into what setup needs to know.
 */
import * as v from "valibot";
import { parseJsonSafely } from "./parse-json-safely.ts";
import { describeAbsence } from "./describe-absence.ts";
import type { HttpReply, VllmFacts } from "./host-facts.ts";
import { stripUrlCredentials } from "../public-url.ts";

export const VLLM_HEALTH_PATH = "/health";
export const VLLM_MODELS_PATH = "/v1/models";

const ModelsSchema = v.object({ data: v.array(v.object({ id: v.string() })) });

export function readVllm(url: string, health: HttpReply, models: HttpReply): VllmFacts {
  const shown = stripUrlCredentials(url);
  const list = models.status === 200 ? v.safeParse(ModelsSchema, parseJsonSafely(models.body)) : undefined;
  const healthy = health.status === 200;
  // A 503 from /health is still vLLM answering: the server is up but its engine is not.
  const running = healthy || health.status === 503 || Boolean(list?.success);
  if (!running) return { url: shown, running: false, healthy: false, models: [], reason: describeAbsence("vLLM", shown, health) };
  const ids = list?.success ? list.output.data.map((m) => m.id) : [];
  return { url: shown, running, healthy, models: ids, ...describeTrouble(healthy, models.status, ids.length) };
}

function describeTrouble(healthy: boolean, modelsStatus: number | null, count: number): { reason?: string } {
  if (!healthy) return { reason: "vLLM answers but /health fails (engine not ready or crashed)" };
  if (modelsStatus === 401 || modelsStatus === 403) {
    return { reason: "vLLM needs an API key to list models (set BASIS_VLLM_API_KEY in the worker env)" };
  }
  if (count === 0) return { reason: "vLLM lists no model" };
  return {};
}
