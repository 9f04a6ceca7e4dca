/**
 * The worker <-> orchestrator protocol: event names and a valibot schema for every payload.
 * Worker and orchestrator both import this module and define no event or shape of their own.
 * A payload that fails its schema is refused, never trusted.
 */
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

const WALLET = v.pipe(v.string(), v.regex(/^0x[0-9a-fA-F]{40}$/, "a 0x-prefixed 40-hex address"));
const ID = v.pipe(v.string(), v.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "a short slug"));
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

export const RuntimeNameSchema = v.picklist(["echo", "ollama", "vllm", "openai"]);
export type RuntimeName = v.InferOutput<typeof RuntimeNameSchema>;

/** Sent in the Socket.io handshake `auth` field. The token is checked before anything else. */
export const HandshakeSchema = v.object({
  protocol: v.literal(PROTOCOL_VERSION),
  token: v.pipe(v.string(), v.minLength(1), v.maxLength(512)),
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

export const ChatMessageSchema = v.object({
  role: v.picklist(["system", "user", "assistant", "tool"]),
  content: v.pipe(v.string(), v.maxLength(1_000_000)),
});
export type ChatMessage = v.InferOutput<typeof ChatMessageSchema>;

/** The inference part of a job: what a runtime needs, OpenAI chat-completions style. */
export const InferenceRequestSchema = v.object({
  model: MODEL,
  messages: v.pipe(v.array(ChatMessageSchema), v.minLength(1), v.maxLength(1000)),
  max_tokens: v.optional(v.pipe(COUNT, v.minValue(1), v.maxValue(1_000_000))),
  temperature: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(2))),
  top_p: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  stop: v.optional(v.pipe(v.array(v.pipe(v.string(), v.maxLength(100))), v.maxLength(8))),
  seed: v.optional(v.pipe(v.number(), v.integer())),
});
export type InferenceRequest = v.InferOutput<typeof InferenceRequestSchema>;

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
  reason: v.optional(v.picklist(["over_capacity", "draining", "unavailable", "unknown_model", "invalid"])),
});
export type JobAck = v.InferOutput<typeof JobAckSchema>;

export const JobCancelSchema = v.object({ job_id: ID, reason: v.pipe(v.string(), v.maxLength(200)) });
export type JobCancel = v.InferOutput<typeof JobCancelSchema>;

export const JobStartedSchema = v.object({ job_id: ID });
export type JobStarted = v.InferOutput<typeof JobStartedSchema>;

export const JobChunkSchema = v.object({ job_id: ID, delta: v.pipe(v.string(), v.maxLength(MAX_CHUNK_CHARS)) });
export type JobChunk = v.InferOutput<typeof JobChunkSchema>;

export const FinishReasonSchema = v.picklist(["stop", "length", "tool_calls", "content_filter"]);
export type FinishReason = v.InferOutput<typeof FinishReasonSchema>;

export const UsageSchema = v.object({ prompt_tokens: REPORTED, completion_tokens: REPORTED });
export type Usage = v.InferOutput<typeof UsageSchema>;

export const JobDoneSchema = v.object({
  job_id: ID,
  /** The whole answer; the orchestrator checks it equals the concatenated chunks. */
  text: v.pipe(v.string(), v.maxLength(MAX_DONE_TEXT_CHARS)),
  finish_reason: FinishReasonSchema,
  usage: UsageSchema,
  /** Worker-side wall time of the job (for latency accounting), milliseconds. */
  elapsed_ms: REPORTED,
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
