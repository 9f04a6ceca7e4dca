/**
 * Reads llama.cpp's `llama-server`: `GET /health` (200 `{"status":"ok"}`; 503 while the model
 * loads), `GET /v1/models` (the `--alias`, or the file name) and `GET /props`, whose
 * `default_generation_settings.n_ctx` is the context each slot holds and `total_slots` the
 * requests it decodes at once (`-np`).
 */
import * as v from "valibot";
import { parseJsonSafely } from "./parse-json-safely.ts";
import { describeAbsence } from "./describe-absence.ts";
import type { HttpReply, LlamaCppFacts } from "./host-facts.ts";
import { stripUrlCredentials } from "../public-url.ts";

export const LLAMACPP_HEALTH_PATH = "/health";
export const LLAMACPP_MODELS_PATH = "/v1/models";
export const LLAMACPP_PROPS_PATH = "/props";

const ModelsSchema = v.object({ data: v.array(v.object({ id: v.string() })) });
const COUNT = v.pipe(v.number(), v.integer(), v.minValue(1));
const PropsSchema = v.object({
  default_generation_settings: v.object({ n_ctx: COUNT }),
  total_slots: v.optional(COUNT),
});

export interface LlamaCppProps {
  /** Tokens of context each slot holds (the server's `-c` divided among its slots). */
  contextSize: number;
  slots: number | undefined;
}

/** `/props` as llama-server answers it, or undefined for any other shape. */
export function parseLlamaCppProps(body: unknown): LlamaCppProps | undefined {
  const props = v.safeParse(PropsSchema, body);
  if (!props.success) return undefined;
  return { contextSize: props.output.default_generation_settings.n_ctx, slots: props.output.total_slots };
}

export function readLlamaCpp(url: string, health: HttpReply, models: HttpReply, props: HttpReply): LlamaCppFacts {
  const shown = stripUrlCredentials(url);
  const list = models.status === 200 ? v.safeParse(ModelsSchema, parseJsonSafely(models.body)) : undefined;
  const details = props.status === 200 ? parseLlamaCppProps(parseJsonSafely(props.body)) : undefined;
  const healthy = health.status === 200;
  // llama-server's own shapes (its /props, its /health bodies) tell it from another server on the port.
  const running = Boolean(details) || isLlamaHealth(health);
  if (!running) {
    return { url: shown, running: false, healthy: false, models: [], context_size: null, slots: null, reason: describeAbsence("llama-server", shown, health) };
  }
  const ids = list?.success ? list.output.data.map((m) => m.id) : [];
  return {
    url: shown,
    running,
    healthy,
    models: ids,
    context_size: details?.contextSize ?? null,
    slots: details?.slots ?? null,
    ...describeTrouble(healthy, [models.status, props.status], ids.length),
  };
}

/** `{"status":"ok"}` when ready, `{"error":{"message":"Loading model",...}}` with 503 while loading. */
function isLlamaHealth(health: HttpReply): boolean {
  const body = parseJsonSafely(health.body) as { status?: unknown; error?: { message?: unknown } } | undefined;
  if (health.status === 200) return body?.status === "ok";
  return health.status === 503 && typeof body?.error?.message === "string" && /loading model/i.test(body.error.message);
}

function describeTrouble(healthy: boolean, statuses: (number | null)[], count: number): { reason?: string } {
  if (!healthy) return { reason: "llama-server answers but /health fails (still loading the model, or it failed to)" };
  if (statuses.some((status) => status === 401 || status === 403)) {
    return { reason: "llama-server needs an API key to list models and read /props (set BASIS_LLAMACPP_API_KEY in the worker env)" };
  }
  if (count === 0) return { reason: "llama-server lists no model" };
  return {};
}
