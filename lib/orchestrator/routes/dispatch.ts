/**
 * POST /v1/dispatch: an OpenAI chat-completions request in, a `chat.completion` (or, with
 * `stream: true`, `chat.completion.chunk` server-sent events) out, served by one worker.
 * Bearer auth and the body limit run before it (server.ts); dispatch's domain errors become
 * HTTP statuses here.
 */
import { judgeStanding } from "../../core/anti-cheat.ts";
import { ChatCompletionSchema, DISPATCH_HEADERS } from "../../core/api-contract.ts";
import { type ChatCompletionCall, parseChatCompletionBody } from "../../core/chat-request.ts";
import { completionBody, deltaChoice, usageBody } from "../chat-completion-shape.ts";
import { type DispatchDeps, DispatchError, type DispatchFailure, dispatchJob, type ServingWorker } from "../dispatch.ts";
import { answer, type Handler, HttpError, readJsonValue } from "../http.ts";

/** The HTTP status of each way a dispatch can fail; the code is the error's own. */
const FAILURE_STATUS: Record<DispatchFailure, number> = {
  no_worker: 503,
  worker_unavailable: 503,
  model_not_found: 404,
  over_price: 402,
  capacity_exhausted: 429,
  unsupported_parameter: 400,
  worker_failed: 502,
  timeout: 504,
  // Nobody reads it (the client is gone); nginx's code for "client closed request".
  client_gone: 499,
  not_recorded: 503,
  shutting_down: 503,
};

/** A dispatch failure as the HTTP error a route answers with. */
export function dispatchHttpError(error: DispatchError): HttpError {
  const status = FAILURE_STATUS[error.reason];
  if (error.reason === "client_gone") return new HttpError(status, error.code);
  const { retryAfterS, ...extra } = error.details;
  return new HttpError(status, error.code, error.message, extra, retryAfterS === undefined ? {} : { "retry-after": String(retryAfterS) });
}

function workerHeaders(session: ServingWorker, payable: boolean, jobId: string): Record<string, string> {
  return {
    [DISPATCH_HEADERS.workerId]: session.info.worker_id,
    [DISPATCH_HEADERS.workerWallet]: session.info.worker_wallet,
    [DISPATCH_HEADERS.payable]: String(payable),
    [DISPATCH_HEADERS.jobId]: jobId,
  };
}

export function dispatchRoute(deps: DispatchDeps): Handler {
  return async ({ request, holdOpen }) => {
    const parsed = parseChatCompletionBody(await readJsonValue(request));
    if (!parsed.ok) {
      const { code, param, message } = parsed.refusal;
      throw new HttpError(400, code, message, param ? { param } : {});
    }
    const call = parsed.call;
    const inference = call.request;
    const maxPrice = readMaxPrice(request);
    // Authenticated (server.ts) and whole: from here the job's own timeouts govern the connection.
    holdOpen();
    // Aborted when the HTTP client goes away, which cancels the job on its worker.
    const client = new AbortController();
    const onGone = () => client.abort();
    request.signal.addEventListener("abort", onGone, { once: true });
    if (!call.stream) {
      try {
        const result = await dispatchJob(deps, inference, { signal: client.signal, ...maxPrice });
        const body = completionBody(result.jobId, inference.model, result.done, inference.logprobs === true);
        return answer(ChatCompletionSchema, 200, body, { ...workerHeaders(result.session, result.verdict.payable, result.jobId), [DISPATCH_HEADERS.receipt]: result.receiptHash });
      } finally {
        request.signal.removeEventListener("abort", onGone);
      }
    }
    return await streamDispatch(deps, call, client, maxPrice);
  };
}

/** `x-basis-max-price`: raw micro-credits per 1M output tokens, a plain decimal integer. */
function readMaxPrice(request: Request): { maxPrice?: bigint } {
  const header = request.headers.get("x-basis-max-price");
  if (header === null) return {};
  if (!/^(0|[1-9][0-9]{0,29})$/.test(header.trim())) {
    throw new HttpError(400, "invalid_max_price", "x-basis-max-price must be a whole number of raw micro-credits per 1M output tokens.", { param: "x-basis-max-price" });
  }
  return { maxPrice: BigInt(header.trim()) };
}

/**
 * Answers with an event stream once a worker accepts; a failure before that is a plain JSON
 * error. Events that come before the stream opens wait in a queue, in order. The events go
 * straight into a ReadableStream the route hands back: Hono's streamSSE helper (a
 * TransformStream read through a pull-based wrapper) added 0.1 to 0.3 ms to the first token
 * (docs/PERFORMANCE.md), so it is not used on this path.
 */
async function streamDispatch(
  deps: DispatchDeps,
  { request, includeUsage }: ChatCompletionCall,
  client: AbortController,
  price: { maxPrice?: bigint },
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
    ...price,
    onAccepted(session, jobId) {
      id = `chatcmpl-${jobId}`;
      // Payability is only known at the end; the header says what the worker can at best be.
      const standing = judgeStanding({ runtime: session.info.runtime, devMode: deps.devMode, unverified: session.unverified() });
      headers = workerHeaders(session, standing.payable, jobId);
      event([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]);
      accepted.resolve();
    },
    onChunk(chunk) {
      event([deltaChoice(chunk)]);
    },
  });
  // Rejects with the dispatch's error when no worker accepted; the caller gets JSON then.
  await Promise.race([accepted.promise, job]);
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
  write = (text) => {
    if (open) sink?.enqueue(encoder.encode(text));
  };
  for (const text of queued.splice(0)) write(text);
  void job
    .then((result) => {
      const receipt = { x_basis_receipt: result.receiptHash };
      event([{ index: 0, delta: {}, logprobs: null, finish_reason: result.done.finish_reason }], includeUsage ? {} : receipt);
      if (includeUsage) event([], { usage: usageBody(result.done.usage), ...receipt });
    })
    .catch((error: unknown) => {
      const e = error instanceof DispatchError ? dispatchHttpError(error) : new HttpError(502, "worker_failed");
      write(`data: ${JSON.stringify({ error: { message: e.message, type: "server_error", param: null, code: e.code } })}\n\n`);
    })
    .then(() => {
      if (!open) return;
      write("data: [DONE]\n\n");
      open = false;
      sink?.close();
    });
  return new Response(body, { status: 200, headers: { "content-type": "text/event-stream", "cache-control": "no-store", ...headers } });
}