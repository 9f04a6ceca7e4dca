/**
 * The Basis HTTP API contract: every route's path, request and answer, and the error body, as
 * valibot schemas. The reference orchestrator's routes (lib/orchestrator/routes/) build their
 * answers to these schemas and read their bodies with them; the client (lib/io/basis-api.ts)
 * reads the answers with them. docs/API.md describes the same routes in words.
 *
 * Two forms of each answer the client reads:
 * - `...Schema`: what the reference API sends, every field (the routes' promise, checked by
 *   tests/orchestrator/routes/contract.test.ts).
 * - `...ReadSchema`: what a client accepts: the same fields, all optional except the ones it
 *   cannot do without, and unknown ones kept, because basis.watch may send less or more.
 *   `lib/core/status-format.ts` prints these types.
 *
 * Every message is our own: none quotes the value it refuses. Pure: no I/O, runs anywhere.
 */
import { MODEL_NAME_PATTERN, MODEL_NAME_RULE } from "./model-name.ts";
import * as v from "valibot";
import { isBasisError } from "./errors.ts";
import { HardwareSchema, ManifestSchema, ModelOfferSchema } from "./manifest.ts";
import { ChatCompletionBodySchema } from "./chat-request.ts";
import { FinishReasonSchema, RuntimeNameSchema, type Usage } from "./protocol.ts";
import { parseWallet } from "./wallet.ts";
import { WALLET_PATTERN } from "./address.ts";
import { WORKER_ID_PATTERN, WORKER_ID_RULE } from "./worker-id.ts";

// ---------------------------------------------------------------------------------------------
// Paths

/** Every route, as Hono registers it (`:id` is a worker id). */
export const API_PATHS = {
  healthz: "/healthz",
  dispatch: "/v1/dispatch",
  /** The same route as dispatch, under the path stock OpenAI clients call. */
  chatCompletions: "/v1/chat/completions",
  register: "/api/workers/register",
  heartbeat: "/api/workers/heartbeat",
  onboarding: "/api/workers/onboarding/status",
  market: "/api/workers/market",
  prices: "/api/workers/prices",
  /** Internal: the network's verification job for one worker (INTERNAL_API_SECRET). */
  verification: "/api/workers/:id/verification",
  rewards: "/api/workers/:id/rewards",
  worker: "/api/workers/:id",
  /** The models online workers serve, in OpenAI's list shape; same auth as dispatch. */
  models: "/v1/models",
  model: "/v1/models/:id",
  /** A finished job's receipt (`:hash` is its 64-hex hash); same auth as dispatch. */
  receipt: "/api/receipts/:hash",
  /** Prometheus text for the operator (BASIS_METRICS_TOKEN, else the dispatch secret). */
  metrics: "/metrics",
} as const;

export type ApiPath = (typeof API_PATHS)[keyof typeof API_PATHS];

/** A receipt's path for its hash. */
export function receiptPath(hash: string): string {
  return API_PATHS.receipt.replace(":hash", encodeURIComponent(hash));
}

/** A path with its `:id` filled in (encoded), ready to append to a base URL. */
export function workerPath(path: typeof API_PATHS.worker | typeof API_PATHS.rewards | typeof API_PATHS.verification, workerId: string): string {
  return path.replace(":id", encodeURIComponent(workerId));
}

/**
 * The POST routes that honour an `Idempotency-Key` header: a repeat of the key gets the first
 * answer again (`idempotent-replayed: true`) instead of running twice, so a client may retry
 * them after a timeout. Any other POST is never retried: it may have landed.
 */
export const IDEMPOTENCY_HEADER = "idempotency-key";
export const IDEMPOTENT_REPLAYED_HEADER = "idempotent-replayed";
export const IDEMPOTENT_POSTS: readonly string[] = [API_PATHS.register, API_PATHS.heartbeat, API_PATHS.prices];

/** Segments under /api/workers/ that name a route: a worker by one of these names could not be read back. */
export const RESERVED_WORKER_IDS: readonly string[] = ["market", "onboarding", "register", "heartbeat"];

// ---------------------------------------------------------------------------------------------
// Shared fields

export const MAX_MODELS = 64;

export const WorkerIdSchema = v.pipe(
  v.string("worker_id must be a string."),
  v.regex(WORKER_ID_PATTERN, `worker_id must be ${WORKER_ID_RULE}.`),
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

/** An address as the API answers with it (already checked when it was registered). */
const WalletOut = v.pipe(v.string(), v.regex(WALLET_PATTERN, "a 0x + 40 hex address"));

const MODEL_MESSAGE = `each model must be ${MODEL_NAME_RULE}.`;
const ModelNameSchema = v.pipe(v.string(MODEL_MESSAGE), v.regex(MODEL_NAME_PATTERN, MODEL_MESSAGE));

export const ModelsSchema = v.pipe(
  v.array(ModelNameSchema, "models must be an array of model names."),
  v.minLength(1, "models must name at least one model."),
  v.maxLength(MAX_MODELS, `models must name at most ${MAX_MODELS} models.`),
  v.transform((models) => [...new Set(models)]),
);

/** A time as the API writes it: ISO-8601 UTC. */
const IsoTime = v.pipe(v.string(), v.isoTimestamp("an ISO-8601 time"));
/** Integer amounts travel as decimal strings, never floats. */
const Amount = v.pipe(v.string(), v.regex(/^\d+$/, "an integer decimal string"));
const Count = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
/** A stable machine code: what scripts match on, and the only server text a client repeats. */
const Slug = v.pipe(v.string(), v.regex(/^[A-Za-z][A-Za-z0-9_.]{0,63}$/, "a plain code"));

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * Every non-2xx answer: `{error, message?, field?, hint?, ...}`. `error` is the stable code;
 * extra fields belong to the route (`worker_error`, `rail`, `violations`, `reason`, ...).
 */
export const ApiErrorSchema = v.looseObject({
  error: Slug,
  message: v.optional(v.string()),
  field: v.optional(v.string()),
  hint: v.optional(v.string()),
});
export type ApiError = v.InferOutput<typeof ApiErrorSchema>;

/**
 * Errors under /v1/ (dispatch, chat completions) take OpenAI's shape, which the official SDKs
 * read: the Basis code in `code`, the offending parameter in `param`.
 */
export const OpenAIErrorSchema = v.strictObject({
  error: v.looseObject({
    message: v.string(),
    type: v.picklist(["invalid_request_error", "authentication_error", "permission_error", "not_found_error", "rate_limit_error", "server_error"]),
    param: v.nullable(v.string()),
    code: Slug,
  }),
});

// ---------------------------------------------------------------------------------------------
// GET /healthz

export const HealthSchema = v.strictObject({ ok: v.literal(true), workersOnline: Count, devMode: v.boolean() });

// ---------------------------------------------------------------------------------------------
// Workers: POST /api/workers/register, POST /api/workers/heartbeat, GET /api/workers/:id

export const RegisterBodySchema = v.strictObject(
  {
    worker_id: WorkerIdSchema,
    worker_wallet: WalletSchema,
    runtime: v.picklist(RuntimeNameSchema.options, "runtime must be one of echo, ollama, vllm, llamacpp, openai."),
    models: ModelsSchema,
  },
  "The body must be a JSON object.",
);
export type RegisterBody = v.InferOutput<typeof RegisterBodySchema>;
/** What a client sends (before the server's trimming and de-duplication). */
export type RegisterInput = v.InferInput<typeof RegisterBodySchema>;

export const HeartbeatBodySchema = v.strictObject(
  { worker_id: WorkerIdSchema, worker_wallet: v.optional(WalletSchema) },
  "The body must be a JSON object.",
);
export type HeartbeatBody = v.InferOutput<typeof HeartbeatBodySchema>;

export const WorkerSchema = v.strictObject({
  worker_id: WorkerIdSchema,
  worker_wallet: WalletOut,
  runtime: v.string(),
  models: v.array(v.string()),
  online: v.boolean(),
  /** Connected over the socket, backend up, not draining: only then can it be routed a job. */
  available: v.boolean(),
  activeJobs: Count,
  capacity: Count,
  /** What the orchestrator trusts it with now (docs/PROTOCOL.md, "Earned capacity"). */
  earnedCapacity: Count,
  /** The end of a cooldown after a setback, or null. */
  coolingDownUntil: v.nullable(IsoTime),
  /** Failed its last spot check and has not passed one since (docs/SPOT-CHECKS.md). */
  unverified: v.boolean(),
  jobsCompleted: Count,
  registeredAt: IsoTime,
  lastSeenAt: v.nullable(IsoTime),
});
export type Worker = v.InferOutput<typeof WorkerSchema>;

export const WorkerReadSchema = v.looseObject({
  ...v.partial(WorkerSchema).entries,
  worker_id: v.string(),
  worker_wallet: v.optional(v.string()),
  registeredAt: v.optional(v.nullable(v.string())),
  lastSeenAt: v.optional(v.nullable(v.string())),
});
export type WorkerView = v.InferOutput<typeof WorkerReadSchema>;

export const WorkerAnswerSchema = v.strictObject({ worker: WorkerSchema });
export const WorkerAnswerReadSchema = v.looseObject({ worker: WorkerReadSchema });

export const RegistrationSchema = v.strictObject({ worker: WorkerSchema, created: v.boolean() });
export const RegistrationReadSchema = v.looseObject({ worker: v.optional(WorkerReadSchema), created: v.optional(v.boolean()) });
export type RegistrationView = v.InferOutput<typeof RegistrationReadSchema>;

export const HeartbeatAnswerSchema = v.strictObject({ ok: v.literal(true), worker_id: WorkerIdSchema, lastSeenAt: IsoTime });

// ---------------------------------------------------------------------------------------------
// Settlement, rewards: GET /api/workers/:id/rewards[?limit=]

export const SettlementSchema = v.strictObject({ state: v.literal("gated"), mode: v.literal("dry_run"), message: v.string() });
export const SettlementReadSchema = v.looseObject({ state: v.optional(v.string()), mode: v.optional(v.string()) });
export type SettlementView = v.InferOutput<typeof SettlementReadSchema>;

export const DEFAULT_ENTRY_LIMIT = 50;
export const MAX_ENTRY_LIMIT = 500;
/** `?limit=`: a whole number from 1 to MAX_ENTRY_LIMIT. */
export const EntryLimitSchema = v.pipe(
  v.string(),
  v.regex(/^\d{1,4}$/, `limit must be a whole number from 1 to ${MAX_ENTRY_LIMIT}.`),
  v.transform(Number),
  v.minValue(1, `limit must be a whole number from 1 to ${MAX_ENTRY_LIMIT}.`),
  v.maxValue(MAX_ENTRY_LIMIT, `limit must be a whole number from 1 to ${MAX_ENTRY_LIMIT}.`),
);

export const RewardEntrySchema = v.strictObject({
  job_id: v.string(),
  model: v.string(),
  status: v.picklist(["completed", "failed"]),
  state: v.picklist(["pending", "batching", "settled", "not_payable"]),
  payable: v.boolean(),
  charged_raw: Amount,
  reward_raw: Amount,
  reason: v.nullable(v.string()),
  created_at: IsoTime,
});

export const RewardsSchema = v.strictObject({
  worker_id: WorkerIdSchema,
  worker_wallet: WalletOut,
  currency: v.literal("BASIS"),
  decimals: v.literal(18),
  amountUnit: v.literal("raw_micro_credits"),
  amountDecimals: v.literal(6),
  pending: Amount,
  batching: Amount,
  settled: Amount,
  entriesTotal: Count,
  entries: v.array(RewardEntrySchema),
  rule: v.strictObject({ prompt_credits_per_1m: Amount, output_credits_per_1m: Amount, workerShareBps: Amount }),
  settlement: SettlementSchema,
});

/** A client accepts amounts as integer strings or safe integers (printed as strings), never floats. */
const AmountRead = v.union([Amount, v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.transform(String))]);

export const RewardsReadSchema = v.looseObject({
  ...v.partial(RewardsSchema).entries,
  amountUnit: v.optional(v.string()),
  pending: v.optional(AmountRead),
  batching: v.optional(AmountRead),
  settled: v.optional(AmountRead),
  entries: v.optional(v.array(v.unknown())),
  rule: v.optional(v.unknown()),
  settlement: v.optional(SettlementReadSchema),
  worker_id: v.optional(v.string()),
  worker_wallet: v.optional(v.string()),
  currency: v.optional(v.string()),
  decimals: v.optional(v.number()),
  amountDecimals: v.optional(v.number()),
});
/** Amounts are integer base units as decimal strings; they are printed as they are, never as floats. */
export type RewardsView = v.InferOutput<typeof RewardsReadSchema>;

// ---------------------------------------------------------------------------------------------
// GET /api/workers/onboarding/status[?worker_id=]

export const ONBOARDING_ROWS = ["Inference runtime", "Registration", "Job routing", "Orchestrator", "Can receive jobs", "Settlement"] as const;

export const OnboardingRowSchema = v.strictObject({ name: v.picklist(ONBOARDING_ROWS), state: Slug, detail: v.string() });

export const OnboardingSchema = v.strictObject({
  registration: v.strictObject({ state: v.literal("live"), durable: v.boolean() }),
  jobRouting: v.strictObject({ enabled: v.boolean(), scope: v.string() }),
  orchestrator: v.strictObject({ url: v.optional(v.string()), workersOnline: Count, devMode: v.boolean() }),
  worker: v.optional(v.strictObject({ worker_id: WorkerIdSchema, registered: v.boolean(), online: v.boolean(), available: v.boolean() })),
  canReceiveJobs: v.boolean(),
  settlement: v.strictObject({ state: v.literal("gated"), mode: v.literal("dry_run") }),
  rows: v.array(OnboardingRowSchema),
});

/** Rows are printed as they come, unknown names included. */
const OnboardingRowRead = v.looseObject({
  name: v.pipe(v.unknown(), v.transform(String)),
  state: v.optional(v.pipe(v.unknown(), v.transform(String))),
  detail: v.optional(v.nullable(v.pipe(v.unknown(), v.transform(String)))),
});
export type OnboardingRow = v.InferOutput<typeof OnboardingRowRead>;

export const OnboardingReadSchema = v.looseObject({
  registration: v.optional(v.unknown()),
  jobRouting: v.optional(v.looseObject({ enabled: v.optional(v.boolean()), scope: v.optional(v.unknown()) })),
  orchestrator: v.optional(v.unknown()),
  worker: v.optional(v.unknown()),
  canReceiveJobs: v.optional(v.boolean()),
  settlement: v.optional(SettlementReadSchema),
  rows: v.optional(v.array(OnboardingRowRead)),
});
export type OnboardingView = v.InferOutput<typeof OnboardingReadSchema>;

// ---------------------------------------------------------------------------------------------
// Prices and the market: POST /api/workers/prices, GET /api/workers/market

/** The body of POST /api/workers/prices: a signed manifest (lib/core/manifest.ts, docs/PRICES.md). */
export const PricesBodySchema = ManifestSchema;

export const OfferStateSchema = v.picklist(["self_reported", "verified", "stale", "expired"]);
export type OfferState = v.InferOutput<typeof OfferStateSchema>;

const OfferIdSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,100}$/, "an offer id"));
const PriceVersionSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(1));

/** A price above the high-price line (lib/core/price-rails.ts): accepted, and flagged for buyers. */
export const PriceFlagSchema = v.strictObject({ field: v.string(), flag: v.literal("high") });

/** 201 from POST /api/workers/prices: the stored offer. */
export const OfferAcceptedSchema = v.strictObject({
  offerId: OfferIdSchema,
  priceVersion: PriceVersionSchema,
  state: v.literal("self_reported"),
  worker_id: WorkerIdSchema,
  worker_wallet: WalletOut,
  models: v.array(v.string()),
  flags: v.array(PriceFlagSchema),
  validUntil: IsoTime,
});

/** The values a client prints: plain slugs and numbers only. */
export const OfferAcceptedReadSchema = v.looseObject({
  offerId: OfferIdSchema,
  priceVersion: PriceVersionSchema,
  state: v.pipe(v.string(), v.regex(/^[a-z_]{1,32}$/)),
});
export type PublishedOffer = v.InferOutput<typeof OfferAcceptedReadSchema>;

export const MarketOfferSchema = v.strictObject({
  offerId: OfferIdSchema,
  priceVersion: PriceVersionSchema,
  state: OfferStateSchema,
  worker_id: WorkerIdSchema,
  worker_wallet: WalletOut,
  models: v.array(ModelOfferSchema),
  /** Nobody can check hardware claims; the name says so. */
  selfReportedHardware: HardwareSchema,
  flags: v.array(PriceFlagSchema),
  issuedAt: IsoTime,
  validUntil: IsoTime,
  acceptedAt: IsoTime,
  /** When the worker last passed the network's verification job, or null. */
  verifiedAt: v.nullable(IsoTime),
  /** The signed manifest as accepted, so a buyer can check the signature without trusting the API. */
  manifest: ManifestSchema,
});

export const MarketSchema = v.strictObject({
  offers: v.array(MarketOfferSchema),
  networkDefault: v.strictObject({ prompt_credits_per_1m: Amount, output_credits_per_1m: Amount, min_job_credits: Amount }),
  rails: v.strictObject({ prompt_floor: Amount, output_floor: Amount, price_max: Amount, min_job_credits_floor: Amount, high_price: Amount }),
  unit: v.string(),
  states: v.strictObject({ self_reported: v.string(), verified: v.string(), stale: v.string(), expired: v.string() }),
  note: v.string(),
});

// ---------------------------------------------------------------------------------------------
// POST /api/workers/:id/verification (internal)

export const VerificationSchema = v.strictObject({
  worker_id: WorkerIdSchema,
  model: v.string(),
  passed: v.boolean(),
  reasons: v.array(Slug),
  message: v.string(),
  tokensPerSecond: v.pipe(v.number(), v.minValue(0)),
  minTokensPerSecond: v.number(),
  checkedAt: IsoTime,
  verifiedUntil: v.nullable(IsoTime),
});

// ---------------------------------------------------------------------------------------------
// POST /v1/dispatch and /v1/chat/completions (OpenAI chat completions)

/**
 * The body: OpenAI's chat-completions request, as lib/core/chat-request.ts reads it (which also
 * refuses any top-level parameter it does not know, by name).
 */
export const DispatchBodySchema = ChatCompletionBodySchema;

const UsageOut = v.strictObject({ prompt_tokens: Count, completion_tokens: Count, total_tokens: Count });
const FinishReason = FinishReasonSchema;

/** The one place that totals a job's usage for an answer: the counts, plus their sum. */
export function usageTotals(usage: Usage): v.InferOutput<typeof UsageOut> {
  return { prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens, total_tokens: usage.prompt_tokens + usage.completion_tokens };
}

/** Log probabilities as the runtime reported them (OpenAI's `{content: [...]}`), or null when not asked for. */
const Logprobs = v.nullable(v.strictObject({ content: v.array(v.unknown()) }));

export const ChatCompletionSchema = v.strictObject({
  id: v.pipe(v.string(), v.startsWith("chatcmpl-")),
  object: v.literal("chat.completion"),
  created: Count,
  model: v.string(),
  choices: v.array(
    v.strictObject({
      index: Count,
      message: v.strictObject({
        role: v.literal("assistant"),
        // null when the model only called tools, as OpenAI sends it.
        content: v.nullable(v.string()),
        reasoning_content: v.optional(v.string()),
        tool_calls: v.optional(v.array(v.unknown())),
      }),
      logprobs: Logprobs,
      finish_reason: FinishReason,
    }),
  ),
  usage: UsageOut,
});

export const ChatCompletionChunkSchema = v.strictObject({
  id: v.pipe(v.string(), v.startsWith("chatcmpl-")),
  object: v.literal("chat.completion.chunk"),
  created: Count,
  model: v.string(),
  choices: v.array(
    v.strictObject({
      index: Count,
      delta: v.strictObject({
        role: v.optional(v.literal("assistant")),
        content: v.optional(v.string()),
        reasoning_content: v.optional(v.string()),
        tool_calls: v.optional(v.array(v.unknown())),
      }),
      logprobs: Logprobs,
      finish_reason: v.nullable(FinishReason),
    }),
  ),
  usage: v.optional(UsageOut),
  /** On the last chunk: the job's receipt hash (a stream's headers leave before it exists). */
  x_basis_receipt: v.optional(v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/))),
});

/** An event that ends a stream that failed after it began (before `data: [DONE]`). */
export const StreamErrorEventSchema = v.strictObject({
  error: v.strictObject({ message: v.string(), type: v.literal("server_error"), param: v.null(), code: Slug }),
});

// ---------------------------------------------------------------------------------------------
// GET /v1/models, GET /v1/models/:id

export const ModelSchema = v.strictObject({ id: v.string(), object: v.literal("model"), created: Count, owned_by: v.literal("basis"), workers: Count });
export const ModelListSchema = v.strictObject({ object: v.literal("list"), data: v.array(ModelSchema) });

// ---------------------------------------------------------------------------------------------
// GET /api/receipts/:hash

export const ReceiptAnswerSchema = v.strictObject({
  hash: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  /** The hashed core (lib/core/receipt.ts): `hash` is sha256 of its RFC 8785 form. */
  receipt: v.record(v.string(), v.unknown()),
  status: v.picklist(["pending", "batching", "settled", "not_payable"]),
  payable: v.boolean(),
  reason: v.nullable(v.string()),
  hashAlgorithm: v.literal("sha256(rfc8785-jcs(receipt))"),
  settlement: v.strictObject({ ...SettlementSchema.entries, batchHash: v.null(), txHash: v.null() }),
});

/** Response headers of a dispatch: which worker served it and whether it pays. */
export const DISPATCH_HEADERS = {
  workerId: "x-basis-worker-id",
  workerWallet: "x-basis-worker-wallet",
  payable: "x-basis-payable",
  jobId: "x-basis-job-id",
  /** Whole answers only: the job's receipt hash. */
  receipt: "x-basis-receipt",
} as const;

// ---------------------------------------------------------------------------------------------

/** The answer type a route must build for a schema: checked by tsc where the route builds it. */
export type AnswerOf<S extends v.GenericSchema> = v.InferInput<S>;
