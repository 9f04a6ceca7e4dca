/**
 * POST /v1/dispatch: an OpenAI chat-completions request in, a `chat.completion` (or, with
 * `stream: true`, `chat.completion.chunk` server-sent events) out, served by one worker.
 */
import * as v from "valibot";
import { InferenceRequestSchema } from "../../core/protocol.ts";
import { constantTimeEqual } from "../../core/token.ts";
import { type DispatchDeps, type DispatchResult, dispatchJob, type ServingWorker } from "../dispatch.ts";
import { bearerToken, type Handler, HttpError, json, readJson } from "../http.ts";

const DispatchBodySchema = v.object({
  ...InferenceRequestSchema.entries,
  stream: v.optional(v.boolean()),
  stream_options: v.optional(v.object({ include_usage: v.optional(v.boolean()) })),
});

function workerHeaders(session: ServingWorker, payable: boolean, jobId: string): Record<string, string> {
  return {
    "x-basis-worker-id": session.info.worker_id,
    "x-basis-worker-wallet": session.info.worker_wallet,
    "x-basis-payable": String(payable),
    "x-basis-job-id": jobId,
  };
}

function completionBody(result: DispatchResult, model: string) {
  const { done } = result;
  return {
    id: `chatcmpl-${result.jobId}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: "assistant", content: done.text }, logprobs: null, finish_reason: done.finish_reason }],
    usage: {
      prompt_tokens: done.usage.prompt_tokens,
      completion_tokens: done.usage.completion_tokens,
      total_tokens: done.usage.prompt_tokens + done.usage.completion_tokens,
    },
  };
}

export function dispatchRoute(deps: DispatchDeps, secret: string | undefined): Handler {
  return async ({ request }) => {
    if (secret) {
      const token = bearerToken(request);
      if (!token || !constantTimeEqual(token, secret)) throw new HttpError(401, "unauthorized");
    }
    const body = await readJson(request, DispatchBodySchema);
    const { stream, stream_options, ...inference } = body;
    // Aborted when the HTTP client goes away, which cancels the job on its worker.
    const client = new AbortController();
    const onGone = () => client.abort();
    request.signal.addEventListener("abort", onGone, { once: true });
    if (!stream) {
      try {
        const result = await dispatchJob(deps, inference, { signal: client.signal });
        return json(200, completionBody(result, inference.model), workerHeaders(result.session, result.verdict.payable, result.jobId));
      } finally {
        request.signal.removeEventListener("abort", onGone);
      }
    }
    return await streamDispatch(deps, inference, stream_options?.include_usage === true, client);
  };
}

/** Resolves with the event stream once a worker accepts; a failure before that is a plain JSON error. */
function streamDispatch(
  deps: DispatchDeps,
  request: v.InferOutput<typeof InferenceRequestSchema>,
  includeUsage: boolean,
  client: AbortController,
): Promise<Response> {
  const encoder = new TextEncoder();
  let sink: ReadableStreamDefaultController<Uint8Array> | undefined;
  let open = true;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      sink = controller;
    },
    cancel() {
      open = false;
      client.abort();
    },
  });
  const write = (text: string) => {
    if (open) sink?.enqueue(encoder.encode(text));
  };
  let id = "";
  const created = Math.floor(Date.now() / 1000);
  const event = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: request.model, choices, ...extra })}\n\n`);
  return new Promise<Response>((resolve, reject) => {
    let accepted = false;
    dispatchJob(deps, request, {
      signal: client.signal,
      onAccepted(session, jobId) {
        accepted = true;
        id = `chatcmpl-${jobId}`;
        // Payability is only known at the end; the header says what the worker can at best be.
        const payableAtBest = !deps.devMode && session.info.runtime !== "echo";
        const headers = { "content-type": "text/event-stream", "cache-control": "no-store", ...workerHeaders(session, payableAtBest, jobId) };
        resolve(new Response(body, { status: 200, headers }));
        event([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]);
      },
      onChunk(delta) {
        event([{ index: 0, delta: { content: delta }, logprobs: null, finish_reason: null }]);
      },
    })
      .then((result) => {
        event([{ index: 0, delta: {}, logprobs: null, finish_reason: result.done.finish_reason }]);
        if (includeUsage) {
          const u = result.done.usage;
          event([], { usage: { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.prompt_tokens + u.completion_tokens } });
        }
      })
      .catch((error: unknown) => {
        if (!accepted) return reject(error);
        const e = error instanceof HttpError ? error : new HttpError(502, "worker_failed");
        write(`data: ${JSON.stringify({ error: { message: e.message, type: e.code, code: e.status } })}\n\n`);
      })
      .then(() => {
        if (!accepted || !open) return;
        write("data: [DONE]\n\n");
        open = false;
        sink?.close();
      });
  });
}
