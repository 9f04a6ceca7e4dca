/** The worker's own settings besides its id and wallet: runtime, models, per-model limits. */
import { MODEL_NAME_PATTERN, MODEL_NAME_RULE } from "./model-name.ts";
import * as v from "valibot";
import { BasisError } from "./errors.ts";
import { type RuntimeName, RuntimeNameSchema } from "./protocol.ts";
import { SECRET_WARNING, secretKind } from "./secrets.ts";

function fail(code: string, message: string, hint?: string): never {
  throw new BasisError(code, message, { exitCode: 2, hint });
}

export function parseRuntimeName(value: string): RuntimeName {
  const result = v.safeParse(RuntimeNameSchema, value);
  if (!result.success) {
    fail("runtime_unknown", `Unknown runtime "${value.slice(0, 32)}".`, "Use one of: echo, ollama, vllm, llamacpp, openai.");
  }
  return result.output;
}

/** A comma-separated model list, de-duplicated; a key or phrase is refused and never echoed. */
export function parseModelList(value: string | undefined): string[] {
  const models = (value ?? "").split(",").map((m) => m.trim()).filter(Boolean);
  for (const model of models) {
    if (secretKind(model)) fail("secret_refused", `Refused a model name: ${SECRET_WARNING}`);
    if (!MODEL_NAME_PATTERN.test(model)) fail("model_malformed", `A model name must be ${MODEL_NAME_RULE}.`);
  }
  return [...new Set(models)];
}

/** `model=n[,model=n...]` with n >= 1 (BASIS_WORKER_MODEL_CONCURRENCY); the models are checked by the caller. */
export function parseModelConcurrency(value: string): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const item of value.split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = item.lastIndexOf("=");
    const model = item.slice(0, eq).trim();
    const count = item.slice(eq + 1).trim();
    if (eq <= 0 || !/^\d+$/.test(count) || Number(count) < 1) {
      fail("model_concurrency_malformed", "BASIS_WORKER_MODEL_CONCURRENCY must read model=n[,model=n...] with n >= 1.");
    }
    limits[model] = Number(count);
  }
  return limits;
}
