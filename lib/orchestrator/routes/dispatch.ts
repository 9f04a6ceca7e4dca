/**
 * POST /v1/dispatch: an OpenAI chat-completions request in, a `chat.completion` (or, with
 * `stream: true`, `chat.completion.chunk` server-sent events) out, served by one worker.
 */
import { type ChatCompletionCall, parseChatCompletionBody } from "../../core/chat-request.ts";
import { completionBody, deltaChoice, usageBody } from "../chat-completion-shape.ts";
import { type DispatchDeps, dispatchJob, type ServingWorker } from "../dispatch.ts";
import { type Handler, HttpError, json, readJsonValue, requireBearer } from "../http.ts";

function workerHeaders(session: ServingWorker, payable: boolean, jobId: string): Record<string, string> {
  return {
    "x-basis-worker-id": session.info.worker_id,
    "x-basis-worker-wallet": session.info.worker_wallet,
    "x-basis-payable": String(payable),
    "x-basis-job-id": jobId,
  };
}

export function dispatchRoute(deps: DispatchDeps, secret: string | undefined): Handler {
  return async ({ request }) => {
    requireBearer(request, secret);
    const parsed = parseChatCompletionBody(await readJsonValue(request));
    if (!parsed.ok) {
      const { code, param, message } = parsed.refusal;
      throw new HttpError(400, code, message, param ? { param } : {});
    }
    const call = parsed.call;
    const inference = call.request;
    // Aborted when the HTTP client goes away, which cancels the job on its worker.
    const client = new AbortController();
    const onGone = () => client.abort();
    request.signal.addEventListener("abort", onGone, { once: true });
    if (!call.stream) {
      try {
        const result = await dispatchJob(deps, inference, { signal: client.signal });
        const body = completionBody(result.jobId, inference.model, result.done, inference.logprobs === true);
        return json(200, body, { ...workerHeaders(result.session, result.verdict.payable, result.jobId), "x-basis-receipt": result.receiptHash });
      } finally {
        request.signal.removeEventListener("abort", onGone);
      }
    }
    return await streamDispatch(deps, call, client);
  };
}

/** Resolves with the event stream once a worker accepts; a failure before that is a plain JSON error. */
function streamDispatch(deps: DispatchDeps, { request, includeUsage }: ChatCompletionCall, client: AbortController): Promise<Response> {
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
        const payableAtBest = !deps.devMode && session.info.runtime !== "echo" && !session.unverified();
        const headers = { "content-type": "text/event-stream", "cache-control": "no-store", ...workerHeaders(session, payableAtBest, jobId) };
        resolve(new Response(body, { status: 200, headers }));
        event([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]);
      },
      onChunk(chunk) {
        event([deltaChoice(chunk)]);
      },
    })
      .then((result) => {
        // The last chunk carries the receipt's hash (a stream's headers are sent before it exists).
        const receipt = { x_basis_receipt: result.receiptHash };
        event([{ index: 0, delta: {}, logprobs: null, finish_reason: result.done.finish_reason }], includeUsage ? {} : receipt);
        if (includeUsage) event([], { usage: usageBody(result.done.usage), ...receipt });
      })
      .catch((error: unknown) => {
        if (!accepted) return reject(error);
        const e = error instanceof HttpError ? error : new HttpError(502, "worker_failed");
        write(`data: ${JSON.stringify({ error: { message: e.message, type: "server_error", param: null, code: e.code } })}\n\n`);
      })
      .then(() => {
        if (!accepted || !open) return;
        write("data: [DONE]\n\n");
        open = false;
        sink?.close();
      });
  });
}
