/**
 * POST /v1/dispatch: an OpenAI chat-completions request in, a `chat.completion` (or, with
 * `stream: true`, `chat.completion.chunk` server-sent events) out, served by one worker.
 */
import type * as v from "valibot";
import { judgeStanding } from "../../core/anti-cheat.ts";
import { type AnswerOf, ChatCompletionSchema, DISPATCH_HEADERS, DispatchBodySchema, usageTotals } from "../../core/api-contract.ts";
import type { InferenceRequestSchema } from "../../core/protocol.ts";
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { type DispatchDeps, DispatchError, type DispatchFailure, type DispatchResult, dispatchJob, type ServingWorker } from "../dispatch.ts";
import { answer, type Handler, HttpError, readJson } from "../http.ts";

/** Each way a dispatch can fail, as the HTTP status and stable code the caller gets. */
const FAILURE_STATUS: Record<DispatchFailure, { status: number; code: string }> = {
  no_worker: { status: 503, code: "no_worker_available" },
  worker_unavailable: { status: 503, code: "worker_unavailable" },
  worker_failed: { status: 502, code: "worker_failed" },
  timeout: { status: 504, code: "worker_timeout" },
  // Nobody reads it (the client is gone); nginx's code for "client closed request".
  client_gone: { status: 499, code: "client_closed" },
  not_recorded: { status: 503, code: "not_recorded" },
};

/** A dispatch failure as the HTTP error a route answers with. */
export function dispatchHttpError(error: DispatchError): HttpError {
  const { status, code } = FAILURE_STATUS[error.reason];
  if (error.reason === "client_gone") return new HttpError(status, code);
  return new HttpError(status, code, error.message, error.workerError === undefined ? {} : { worker_error: error.workerError });
}

function workerHeaders(session: ServingWorker, payable: boolean, jobId: string): Record<string, string> {
  return {
    [DISPATCH_HEADERS.workerId]: session.info.worker_id,
    [DISPATCH_HEADERS.workerWallet]: session.info.worker_wallet,
    [DISPATCH_HEADERS.payable]: String(payable),
    [DISPATCH_HEADERS.jobId]: jobId,
  };
}

function completionBody(result: DispatchResult, model: string): AnswerOf<typeof ChatCompletionSchema> {
  const { done } = result;
  return {
    id: `chatcmpl-${result.jobId}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: "assistant", content: done.text }, logprobs: null, finish_reason: done.finish_reason }],
    usage: usageTotals(done.usage),
  };
}

export function dispatchRoute(deps: DispatchDeps): Handler {
  return async ({ request, hono }) => {
    const body = await readJson(request, DispatchBodySchema);
    const { stream, stream_options, ...inference } = body;
    // Aborted when the HTTP client goes away, which cancels the job on its worker.
    const client = new AbortController();
    const onGone = () => client.abort();
    request.signal.addEventListener("abort", onGone, { once: true });
    if (!stream) {
      try {
        const result = await dispatchJob(deps, inference, { signal: client.signal });
        return answer(ChatCompletionSchema, 200, completionBody(result, inference.model), workerHeaders(result.session, result.verdict.payable, result.jobId));
      } finally {
        request.signal.removeEventListener("abort", onGone);
      }
    }
    return await streamDispatch(hono, deps, inference, stream_options?.include_usage === true, client);
  };
}

/**
 * Answers with Hono's SSE stream once a worker accepts; a failure before that is a plain JSON
 * error. Events that come before the stream opens wait in a queue, in order.
 */
async function streamDispatch(
  c: Context,
  deps: DispatchDeps,
  request: v.InferOutput<typeof InferenceRequestSchema>,
  includeUsage: boolean,
  client: AbortController,
): Promise<Response> {
  let write: (text: string) => void;
  const queued: string[] = [];
  write = (text) => queued.push(text);
  let id = "";
  const created = Math.floor(Date.now() / 1000);
  const event = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: request.model, choices, ...extra })}\n\n`);
  let headers: Record<string, string> = {};
  const accepted = Promise.withResolvers<void>();
  const job = dispatchJob(deps, request, {
    signal: client.signal,
    onAccepted(session, jobId) {
      id = `chatcmpl-${jobId}`;
      // Payability is only known at the end; the header says what the worker can at best be.
      headers = workerHeaders(session, judgeStanding({ runtime: session.info.runtime, devMode: deps.devMode }).payable, jobId);
      event([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]);
      accepted.resolve();
    },
    onChunk(delta) {
      event([{ index: 0, delta: { content: delta }, logprobs: null, finish_reason: null }]);
    },
  });
  // Rejects with the dispatch's error when no worker accepted; the caller gets JSON then.
  await Promise.race([accepted.promise, job]);
  const response = streamSSE(c, async (sse) => {
    sse.onAbort(() => client.abort());
    // Written without awaiting each event: the writer keeps their order.
    write = (text) => {
      if (!sse.closed && !sse.aborted) void sse.write(text);
    };
    for (const text of queued.splice(0)) write(text);
    try {
      const result = await job;
      event([{ index: 0, delta: {}, logprobs: null, finish_reason: result.done.finish_reason }]);
      if (includeUsage) event([], { usage: usageTotals(result.done.usage) });
    } catch (error) {
      const e = error instanceof DispatchError ? dispatchHttpError(error) : new HttpError(502, "worker_failed");
      write(`data: ${JSON.stringify({ error: { message: e.message, type: e.code, code: e.status } })}\n\n`);
    }
    if (!sse.aborted) write("data: [DONE]\n\n");
  });
  // Hono's SSE defaults say no-cache; this API's answers are never stored.
  response.headers.set("cache-control", "no-store");
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}
