/**
 * POST /v1/dispatch: an OpenAI chat-completions request in, a `chat.completion` (or, with
 * `stream: true`, `chat.completion.chunk` server-sent events) out, served by one worker.
 */
import * as v from "valibot";
import { InferenceRequestSchema } from "../../core/protocol.ts";
import { constantTimeEqual } from "../../core/token.ts";
import { type DispatchDeps, type DispatchResult, dispatchJob } from "../dispatch.ts";
import { bearerToken, type Handler, HttpError, readJson, sendJson } from "../http.ts";
import type { WorkerSession } from "../sessions.ts";

const DispatchBodySchema = v.object({
  ...InferenceRequestSchema.entries,
  stream: v.optional(v.boolean()),
  stream_options: v.optional(v.object({ include_usage: v.optional(v.boolean()) })),
});

function workerHeaders(session: WorkerSession, payable: boolean, jobId: string): Record<string, string> {
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
  return async ({ req, res }) => {
    if (secret) {
      const token = bearerToken(req);
      if (!token || !constantTimeEqual(token, secret)) throw new HttpError(401, "unauthorized");
    }
    const body = await readJson(req, DispatchBodySchema);
    const { stream, stream_options, ...request } = body;
    const client = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) client.abort();
    });
    if (!stream) {
      const result = await dispatchJob(deps, request, { signal: client.signal });
      sendJson(res, 200, completionBody(result, request.model), workerHeaders(result.session, result.verdict.payable, result.jobId));
      return;
    }
    await streamDispatch(deps, request, stream_options?.include_usage === true, res, client.signal);
  };
}

async function streamDispatch(
  deps: DispatchDeps,
  request: v.InferOutput<typeof InferenceRequestSchema>,
  includeUsage: boolean,
  res: Parameters<Handler>[0]["res"],
  signal: AbortSignal,
): Promise<void> {
  let id = "";
  const created = Math.floor(Date.now() / 1000);
  const event = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: request.model, choices, ...extra })}\n\n`);
  try {
    const result = await dispatchJob(deps, request, {
      signal,
      onAccepted(session, jobId) {
        id = `chatcmpl-${jobId}`;
        // Payability is only known at the end; the header says what the worker can at best be.
        const payableAtBest = !deps.devMode && session.info.runtime !== "echo";
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", ...workerHeaders(session, payableAtBest, jobId) });
        event([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]);
      },
      onChunk(delta) {
        event([{ index: 0, delta: { content: delta }, logprobs: null, finish_reason: null }]);
      },
    });
    event([{ index: 0, delta: {}, logprobs: null, finish_reason: result.done.finish_reason }]);
    if (includeUsage) {
      const u = result.done.usage;
      event([], { usage: { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.prompt_tokens + u.completion_tokens } });
    }
  } catch (error) {
    if (!res.headersSent) throw error;
    const e = error instanceof HttpError ? error : new HttpError(502, "worker_failed");
    res.write(`data: ${JSON.stringify({ error: { message: e.message, type: e.code, code: e.status } })}\n\n`);
  }
  if (!res.writableEnded && !res.destroyed) res.end("data: [DONE]\n\n");
}
