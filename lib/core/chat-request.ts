/**
 * The gateway's edge for `POST /v1/chat/completions`: an OpenAI request body in, a job's
 * InferenceRequest out, or a refusal naming the parameter. A parameter this gateway does not
 * know is refused, never silently dropped; text content parts are joined into one text.
 */
import * as v from "valibot";
import { ChatRoleSchema, type ChatMessage, type InferenceRequest, InferenceRequestSchema, ToolCallSchema } from "./protocol.ts";
import { firstIssueText } from "./schema-issues.ts";

const TextPartSchema = v.object({ type: v.literal("text"), text: v.pipe(v.string(), v.maxLength(1_000_000)) });
const PartSchema = v.looseObject({ type: v.pipe(v.string(), v.maxLength(64)) });

const BodyMessageSchema = v.object({
  role: ChatRoleSchema,
  content: v.optional(v.nullable(v.union([v.pipe(v.string(), v.maxLength(1_000_000)), v.pipe(v.array(PartSchema), v.maxLength(256))]))),
  name: v.optional(v.pipe(v.string(), v.maxLength(200))),
  tool_calls: v.optional(v.pipe(v.array(ToolCallSchema), v.maxLength(128))),
  tool_call_id: v.optional(v.pipe(v.string(), v.maxLength(200))),
  /** An earlier answer's reasoning sent back by a client: not model input, so not forwarded. */
  reasoning_content: v.optional(v.nullable(v.string())),
});

const { messages: _messages, stop: _stop, n: _n, ...inferenceEntries } = InferenceRequestSchema.entries;

/** The body of `POST /v1/chat/completions` and `/v1/dispatch` (the API contract's DispatchBodySchema). */
export const ChatCompletionBodySchema = v.object({
  ...inferenceEntries,
  messages: v.pipe(v.array(BodyMessageSchema), v.minLength(1), v.maxLength(1000)),
  stop: v.optional(v.nullable(v.union([v.pipe(v.string(), v.minLength(1), v.maxLength(100)), v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(100))), v.maxLength(8))]))),
  n: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(128)))),
  stream: v.optional(v.nullable(v.boolean())),
  stream_options: v.optional(v.nullable(v.object({ include_usage: v.optional(v.boolean()) }))),
});

/** Every top-level key a body may carry; any other is refused by name. */
const KNOWN_KEYS: ReadonlySet<string> = new Set(Object.keys(ChatCompletionBodySchema.entries));

export interface ChatCompletionCall {
  request: InferenceRequest;
  stream: boolean;
  includeUsage: boolean;
}

export interface ChatRequestRefusal {
  /** `invalid_request` (bad value) or `unsupported_parameter` (a parameter not served). */
  code: "invalid_request" | "unsupported_parameter";
  /** The parameter, as a path (`messages.2.content.0.type`). */
  param: string | undefined;
  message: string;
}

export type ChatRequestResult = { ok: true; call: ChatCompletionCall } | { ok: false; refusal: ChatRequestRefusal };

/** Validates and normalises a chat-completions body. */
export function parseChatCompletionBody(body: unknown): ChatRequestResult {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return refuse("invalid_request", undefined, "The body must be a JSON object.");
  }
  const unknown = Object.keys(body).find((key) => !KNOWN_KEYS.has(key));
  if (unknown !== undefined) {
    return refuse("unsupported_parameter", unknown, `The parameter \`${unknown}\` is not supported by this gateway.`);
  }
  const result = v.safeParse(ChatCompletionBodySchema, body);
  if (!result.success) {
    const { path, text } = firstIssueText(result.issues, "dotted", "invalid body");
    return refuse("invalid_request", path || undefined, text);
  }
  const { stream, stream_options, stop, n, messages, ...rest } = result.output;
  if (n !== undefined && n !== null && n !== 1) {
    return refuse("unsupported_parameter", "n", "Only n: 1 is served (one worker answers one choice); send separate requests for more choices.");
  }
  if (rest.top_logprobs !== undefined && rest.logprobs !== true) {
    return refuse("invalid_request", "top_logprobs", "top_logprobs needs logprobs: true.");
  }
  const flattened: ChatMessage[] = [];
  for (const [i, message] of messages.entries()) {
    const content = flattenContent(message.content, i);
    if (typeof content !== "string") return { ok: false, refusal: content };
    const { reasoning_content: _reasoning, ...kept } = message;
    flattened.push({ ...kept, content });
  }
  const request: InferenceRequest = {
    ...rest,
    messages: flattened,
    ...(stop === undefined || stop === null ? {} : { stop: typeof stop === "string" ? [stop] : stop }),
  };
  return { ok: true, call: { request, stream: stream === true, includeUsage: stream_options?.include_usage === true } };
}

/** Text parts join with a newline (as vLLM's chat templating does); other part types are refused. */
function flattenContent(content: string | { type: string }[] | null | undefined, index: number): string | ChatRequestRefusal {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  const texts: string[] = [];
  for (const [j, part] of content.entries()) {
    const text = v.safeParse(TextPartSchema, part);
    if (!text.success) {
      return {
        code: "unsupported_parameter",
        param: `messages.${index}.content.${j}.type`,
        message: `Content parts of type "${part.type}" are not supported; only "text" parts are served.`,
      };
    }
    texts.push(text.output.text);
  }
  return texts.join("\n");
}

function refuse(code: ChatRequestRefusal["code"], param: string | undefined, message: string): ChatRequestResult {
  return { ok: false, refusal: { code, param, message } };
}
