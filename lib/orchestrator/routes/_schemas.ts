/** Body schemas of the Basis API. Every message is our own: none quotes the value it refuses. */
import * as v from "valibot";
import { isBasisError } from "../../core/errors.ts";
import { RuntimeNameSchema } from "../../core/protocol.ts";
import { parseWallet } from "../../core/wallet.ts";
import { WORKER_ID_PATTERN } from "../../core/worker-id.ts";

export const MAX_MODELS = 64;

export const WorkerIdSchema = v.pipe(
  v.string("worker_id must be a string."),
  v.regex(WORKER_ID_PATTERN, "worker_id must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit."),
);

/** Same rules as the CLI (lib/core/wallet.ts): 0x + 40 hex, EIP-55 checked when mixed case. */
export const WalletSchema = v.pipe(
  v.string("worker_wallet must be a string: your PUBLIC reward address (0x + 40 hex)."),
  v.trim(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    try {
      parseWallet(dataset.value, "worker_wallet");
    } catch (error) {
      addIssue({ message: isBasisError(error) ? error.message : "worker_wallet is not a valid address." });
    }
  }),
);

const MODEL_MESSAGE = "each model must be a non-empty name of at most 200 characters without spaces.";

export const ModelsSchema = v.pipe(
  v.array(v.pipe(v.string(MODEL_MESSAGE), v.regex(/^\S{1,200}$/, MODEL_MESSAGE)), "models must be an array of model names."),
  v.minLength(1, "models must name at least one model."),
  v.maxLength(MAX_MODELS, `models must name at most ${MAX_MODELS} models.`),
  v.transform((models) => [...new Set(models)]),
);

export const RegisterBodySchema = v.strictObject(
  {
    worker_id: WorkerIdSchema,
    worker_wallet: WalletSchema,
    runtime: v.picklist(RuntimeNameSchema.options, "runtime must be one of echo, ollama, vllm, openai."),
    models: ModelsSchema,
  },
  "The body must be a JSON object.",
);
export type RegisterBody = v.InferOutput<typeof RegisterBodySchema>;

export const HeartbeatBodySchema = v.strictObject(
  { worker_id: WorkerIdSchema, worker_wallet: v.optional(WalletSchema) },
  "The body must be a JSON object.",
);
export type HeartbeatBody = v.InferOutput<typeof HeartbeatBodySchema>;
