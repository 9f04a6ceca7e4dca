/**
 * The worker <-> orchestrator protocol: event names and a valibot schema for every payload.
 * Worker and orchestrator both import this module and define no event or shape of their own.
 * A payload that fails its schema is refused, never trusted.
 */
import { WALLET_PATTERN } from "./address.ts";
import { WORKER_ID_PATTERN } from "./worker-id.ts";
import * as v from "valibot";

export const PROTOCOL_VERSION = 1;

/** Socket.io event names. `w2o` = worker to orchestrator, `o2w` = orchestrator to worker. */
export const EVENTS = {
  /** o2w, once after the handshake is accepted. */
  welcome: "session:welcome",
  /** w2o: availability (backend up/down, draining) and current load. */
  status: "worker:status",
  /** o2w: a job to run. The worker answers with an ack `{accepted, reason?}` at once. */
  assign: "job:assign",
  /** o2w: stop a job (client gone, deadline passed). */
  cancel: "job:cancel",
  /** w2o: a job sent with `stream: false` produced its first token (its text comes whole in `job:done`). */
  started: "job:started",
  /** w2o: streamed text of a running job (one or more deltas). */
  chunk: "job:chunk",
  /** w2o: a job finished with a complete answer. */
  done: "job:done",
  /** w2o: a job failed; no partial answer counts as complete. */
  fail: "job:fail",
} as const;

const WALLET = v.pipe(v.string(), v.regex(WALLET_PATTERN, "a 0x-prefixed 40-hex address"));
const ID = v.pipe(v.string(), v.regex(WORKER_ID_PATTERN, "a short slug"));
const MODEL = v.pipe(v.string(), v.minLength(1), v.maxLength(200));
const COUNT = v.pipe(v.number(), v.integer(), v.minValue(0));

/**
 * Bounds on what a worker may send (docs/PROTOCOL.md, "Bounds"). Every number a worker reports
 * is below 2^31, so no sum or product the orchestrator makes of them leaves the safe integers.
 */
export const MAX_REPORTED_NUMBER = 2 ** 31 - 1;
/** The largest `job:chunk` delta, in UTF-16 code units (a Socket.io message is at most 2 MB). */
export const MAX_CHUNK_CHARS = 1_000_000;
/** The largest `job:done` text, in UTF-16 code units; the per-job cap (`jobTextCapBytes`) is tighter. */
export const MAX_DONE_TEXT_CHARS = 2_000_000;
const REPORTED = v.pipe(COUNT, v.maxValue(MAX_REPORTED_NUMBER));

export const RuntimeNameSchema = v.picklist(["echo", "ollama", "vllm", "llamacpp", "openai"]);
export type RuntimeName = v.InferOutput<typeof RuntimeNameSchema>;

/**
 * Sent in the Socket.io handshake `auth` field, fresh for each connection. The token itself never
 * crosses the wire: `proof` is HMAC-SHA256(token, challenge + worker id + wallet), where the
 * challenge is this connection's engine session id (lib/core/token.ts), checked before anything else.
 */
export const HandshakeSchema = v.object({
  protocol: v.literal(PROTOCOL_VERSION),
  proof: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, "64 lowercase hex")),
  worker_id: ID,
  worker_wallet: WALLET,
  runtime: RuntimeNameSchema,
  models: v.pipe(v.array(MODEL), v.minLength(1), v.maxLength(64)),
  concurrency: v.pipe(COUNT, v.minValue(1), v.maxValue(1024)),
  version: v.optional(v.pipe(v.string(), v.maxLength(64))),
});
export type Handshake = v.InferOutput<typeof HandshakeSchema>;

export const WelcomeSchema = v.object({
  protocol: v.literal(PROTOCOL_VERSION),
  worker_id: ID,
  dev_mode: v.boolean(),
  payable: v.boolean(),
});
export type Welcome = v.InferOutput<typeof WelcomeSchema>;

export const WorkerStatusSchema = v.object({
  available: v.boolean(),
  draining: v.boolean(),
  active: REPORTED,
  reason: v.optional(v.pipe(v.string(), v.maxLength(300))),
});
export type WorkerStatus = v.InferOutput<typeof WorkerStatusSchema>;

/** A function call the model made (OpenAI shape; `arguments` is a JSON text). */
export const ToolCallSchema = v.object({
  id: v.pipe(v.string(), v.maxLength(200)),
  type: v.literal("function"),
  function: v.object({ name: v.pipe(v.string(), v.maxLength(200)), arguments: v.pipe(v.string(), v.maxLength(1_000_000)) }),
});
export type ToolCall = v.InferOutput<typeof ToolCallSchema>;

/** One piece of a streamed tool call; pieces with the same `index` join into one call. */
export const ToolCallDeltaSchema = v.object({
  index: v.pipe(COUNT, v.maxValue(1024)),
  id: v.optional(v.pipe(v.string(), v.maxLength(200))),
  type: v.optional(v.literal("function")),
  function: v.optional(
    v.object({ name: v.optional(v.pipe(v.string(), v.maxLength(200))), arguments: v.optional(v.pipe(v.string(), v.maxLength(1_000_000))) }),
  ),
});
export type ToolCallDelta = v.InferOutput<typeof ToolCallDeltaSchema>;

/** Bounded like every number a worker reports: a log probability is at most 0 (1 leaves room for rounding). */
const TOP_LOGPROB = v.object({
  token: v.pipe(v.string(), v.maxLength(1_000)),
  logprob: v.pipe(v.number(), v.minValue(-1e9), v.maxValue(1)),
  bytes: v.nullish(v.pipe(v.array(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(255))), v.maxLength(1_000))),
});
/** One output token's log probability, OpenAI's `choices[].logprobs.content[]` entry. */
export const LogprobSchema = v.object({ ...TOP_LOGPROB.entries, top_logprobs: v.optional(v.pipe(v.array(TOP_LOGPROB), v.maxLength(20)), []) });
export type Logprob = v.InferOutput<typeof LogprobSchema>;

export const ChatRoleSchema = v.picklist(["system", "developer", "user", "assistant", "tool"]);

/** A message as the worker gets it: content already flattened to text by the gateway. */
export const ChatMessageSchema = v.object({
  role: ChatRoleSchema,
  content: v.pipe(v.string(), v.maxLength(1_000_000)),
  name: v.optional(v.pipe(v.string(), v.maxLength(200))),
  /** An assistant turn that called tools. */
  tool_calls: v.optional(v.pipe(v.array(ToolCallSchema), v.maxLength(128))),
  /** A tool turn: the call it answers. */
  tool_call_id: v.optional(v.pipe(v.string(), v.maxLength(200))),
});
export type ChatMessage = v.InferOutput<typeof ChatMessageSchema>;

const JSON_OBJECT = v.record(v.string(), v.unknown());

export const ToolSchema = v.object({
  type: v.literal("function"),
  function: v.object({
    name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 letters, digits, _ or -")),
    description: v.optional(v.pipe(v.string(), v.maxLength(10_000))),
    parameters: v.optional(JSON_OBJECT),
    strict: v.optional(v.nullable(v.boolean())),
  }),
});
export type Tool = v.InferOutput<typeof ToolSchema>;

export const ToolChoiceSchema = v.union([
  v.picklist(["none", "auto", "required"]),
  v.object({ type: v.literal("function"), function: v.object({ name: v.pipe(v.string(), v.maxLength(64)) }) }),
]);
export type ToolChoice = v.InferOutput<typeof ToolChoiceSchema>;

export const ResponseFormatSchema = v.variant("type", [
  v.object({ type: v.literal("text") }),
  v.object({ type: v.literal("json_object") }),
  v.object({
    type: v.literal("json_schema"),
    json_schema: v.object({
      name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 letters, digits, _ or -")),
      description: v.optional(v.pipe(v.string(), v.maxLength(10_000))),
      schema: v.optional(JSON_OBJECT),
      strict: v.optional(v.nullable(v.boolean())),
    }),
  }),
]);
export type ResponseFormat = v.InferOutput<typeof ResponseFormatSchema>;

const PENALTY = v.pipe(v.number(), v.minValue(-2), v.maxValue(2));

/**
 * The inference part of a job: what a runtime needs, OpenAI chat-completions style. Every field
 * is either honoured by the runtime that gets it or refused before it is sent
 * (runtime-capabilities.ts); none is dropped on the way.
 */
export const InferenceRequestSchema = v.object({
  model: MODEL,
  messages: v.pipe(v.array(ChatMessageSchema), v.minLength(1), v.maxLength(1000)),
  max_tokens: v.optional(v.pipe(COUNT, v.minValue(1), v.maxValue(1_000_000))),
  max_completion_tokens: v.optional(v.pipe(COUNT, v.minValue(1), v.maxValue(1_000_000))),
  temperature: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(2))),
  top_p: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  stop: v.optional(v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(100))), v.maxLength(8))),
  seed: v.optional(v.pipe(v.number(), v.integer())),
  presence_penalty: v.optional(PENALTY),
  frequency_penalty: v.optional(PENALTY),
  logit_bias: v.optional(v.pipe(v.record(v.pipe(v.string(), v.regex(/^\d{1,9}$/, "a token id")), v.pipe(v.number(), v.minValue(-100), v.maxValue(100))))),
  logprobs: v.optional(v.boolean()),
  top_logprobs: v.optional(v.pipe(COUNT, v.maxValue(20))),
  response_format: v.optional(ResponseFormatSchema),
  tools: v.optional(v.pipe(v.array(ToolSchema), v.maxLength(128))),
  tool_choice: v.optional(ToolChoiceSchema),
  parallel_tool_calls: v.optional(v.boolean()),
  /** Only one choice per job is served; the gateway refuses more (400). */
  n: v.optional(v.literal(1)),
  user: v.optional(v.pipe(v.string(), v.maxLength(256))),
  reasoning_effort: v.optional(v.picklist(["none", "minimal", "low", "medium", "high"])),
});
export type InferenceRequest = v.InferOutput<typeof InferenceRequestSchema>;

/** The output-token limit a request asks for, whichever of the two names it used. */
export function maxOutputTokens(request: InferenceRequest): number | undefined {
  return request.max_completion_tokens ?? request.max_tokens;
}

export const JobAssignSchema = v.object({
  job_id: ID,
  request: InferenceRequestSchema,
  /** Milliseconds the orchestrator waits for the whole job. */
  timeout_ms: v.pipe(COUNT, v.minValue(1)),
  /** Whether the orchestrator relays text as it comes; when false the worker sends no chunks. */
  stream: v.optional(v.boolean(), true),
});
export type JobAssign = v.InferOutput<typeof JobAssignSchema>;

export const JobAckSchema = v.object({
  accepted: v.boolean(),
  reason: v.optional(v.picklist(["over_capacity", "draining", "unavailable", "unknown_model", "invalid", "unsupported"])),
  /** With `unsupported`: the request parameter this worker's runtime cannot honour. */
  param: v.optional(v.pipe(v.string(), v.maxLength(64))),
});
export type JobAck = v.InferOutput<typeof JobAckSchema>;

export const JobCancelSchema = v.object({ job_id: ID, reason: v.pipe(v.string(), v.maxLength(200)) });
export type JobCancel = v.InferOutput<typeof JobCancelSchema>;

export const JobStartedSchema = v.object({ job_id: ID });
export type JobStarted = v.InferOutput<typeof JobStartedSchema>;

/** Streamed output of a running job: answer text, and where the model produces them, reasoning text, tool-call pieces and logprobs. */
export const JobChunkSchema = v.object({
  job_id: ID,
  delta: v.pipe(v.string(), v.maxLength(MAX_CHUNK_CHARS)),
  reasoning: v.optional(v.pipe(v.string(), v.maxLength(MAX_CHUNK_CHARS))),
  tool_calls: v.optional(v.pipe(v.array(ToolCallDeltaSchema), v.maxLength(1024))),
  logprobs: v.optional(v.pipe(v.array(LogprobSchema), v.maxLength(100_000))),
});
export type JobChunk = v.InferOutput<typeof JobChunkSchema>;

export const FinishReasonSchema = v.picklist(["stop", "length", "tool_calls", "content_filter"]);
export type FinishReason = v.InferOutput<typeof FinishReasonSchema>;

export const UsageSchema = v.object({ prompt_tokens: REPORTED, completion_tokens: REPORTED });
export type Usage = v.InferOutput<typeof UsageSchema>;

export const JobDoneSchema = v.object({
  job_id: ID,
  /** The whole answer; the orchestrator checks it equals the concatenated chunks. */
  text: v.pipe(v.string(), v.maxLength(MAX_DONE_TEXT_CHARS)),
  /** Reasoning text (vLLM `reasoning_content`, Ollama `thinking`), when the model produced any. */
  reasoning: v.optional(v.pipe(v.string(), v.maxLength(MAX_DONE_TEXT_CHARS))),
  tool_calls: v.optional(v.pipe(v.array(ToolCallSchema), v.maxLength(128))),
  /** With `logprobs: true`: one entry per output token. */
  logprobs: v.optional(v.pipe(v.array(LogprobSchema), v.maxLength(1_000_000))),
  finish_reason: FinishReasonSchema,
  usage: UsageSchema,
  /** Worker-side wall time of the job (for latency accounting), milliseconds. */
  elapsed_ms: REPORTED,
  /** Worker-side time to the first output piece, milliseconds (routing's latency estimate). */
  first_token_ms: v.optional(REPORTED),
});
export type JobDone = v.InferOutput<typeof JobDoneSchema>;

export const JobFailSchema = v.object({
  job_id: ID,
  code: v.pipe(v.string(), v.maxLength(64)),
  message: v.pipe(v.string(), v.maxLength(1000)),
});
export type JobFail = v.InferOutput<typeof JobFailSchema>;

/** Reasons a handshake is refused; the worker prints them. */
export const REFUSALS = {
  protocol: "protocol_mismatch",
  malformed: "malformed_handshake",
  missingToken: "token_missing",
  /** A handshake carrying a token in clear (an older worker): refused, a token on the wire could be replayed. */
  tokenInClear: "handshake_proof_missing",
  badToken: "token_invalid",
  walletMismatch: "token_bound_to_other_wallet",
  idTaken: "worker_id_bound_to_other_wallet",
  duplicate: "worker_id_already_connected",
} as const;

/** Parse a payload; returns undefined when it fails its schema (caller refuses it). */
export function parsePayload<const S extends v.GenericSchema>(
  schema: S,
  payload: unknown,
): v.InferOutput<S> | undefined {
  const result = v.safeParse(schema, payload);
  return result.success ? result.output : undefined;
}
