/**
 * The orchestrator's HTTP layer on Hono: its router, body limit, timing-safe bearer auth and
 * SSE helper, with the API's JSON error body. Every body is parsed once, here, against a
 * valibot schema; a handler receives typed values or the caller gets a 400 with a stable code.
 */
import type { Server } from "bun";
import type { Context, MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import * as v from "valibot";
import { BasisError } from "../core/errors.ts";
import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from "../core/json-depth.ts";
import { firstIssueText } from "../core/schema-issues.ts";
import { constantTimeEqual } from "../core/token.ts";

export const MAX_BODY_BYTES = 1 << 20;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message?: string,
    readonly extra: Record<string, unknown> = {},
    /** Response headers, e.g. `retry-after` on a 429 or 503. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message ?? code);
  }
}

/** What a route handler sees: the raw request, the decoded path parameters, the URL. */
export interface RouteContext {
  request: Request;
  params: Record<string, string>;
  url: URL;
  /** Hono's context, for its helpers (streaming). */
  hono: Context<{ Bindings: { server: Server<unknown> } }>;
  /**
   * Lifts the connection's idle timeout for this request. A route that waits on a worker calls
   * it once the caller is authenticated and the body is read and valid: until then the idle
   * timeout and the body deadline bound the connection.
   */
  holdOpen(): void;
}

export type Handler = (ctx: RouteContext) => Promise<Response> | Response;

/**
 * A route handler as a Hono handler; the URL is parsed only when a handler reads it. With
 * `holdOpen`, the connection's idle timeout is lifted at once (Bun.serve's `server.timeout`),
 * for a route behind a secret that reads no body; a route that reads one lifts it itself,
 * through `holdOpen()`, once the body is in.
 */
export function route(handler: Handler, options: { holdOpen?: boolean } = {}) {
  return (c: Context<{ Bindings: { server: Server<unknown> } }>): Promise<Response> | Response => {
    const holdOpen = () => c.env.server.timeout(c.req.raw, 0);
    if (options.holdOpen) holdOpen();
    let url: URL | undefined;
    return handler({
      request: c.req.raw,
      params: c.req.param() as Record<string, string>,
      get url() {
        url ??= new URL(c.req.url);
        return url;
      },
      hono: c,
      holdOpen,
    });
  };
}

/** On an answer to a caller that failed authentication or sent a bad or slow request: the connection closes after it. */
export const CLOSE_AFTER = { connection: "close" } as const;

/** A body must arrive whole within this long, however slowly its bytes trickle in. */
export const BODY_READ_TIMEOUT_MS = 10_000;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

/**
 * A route's answer, typed by its schema in the API contract (lib/core/api-contract.ts): tsc
 * refuses a body that does not fit, and tests/orchestrator/routes/contract.test.ts parses
 * every route's real answer with the same schema.
 */
export function answer<const S extends v.GenericSchema>(
  _schema: S,
  status: number,
  body: v.InferInput<S>,
  headers: Record<string, string> = {},
): Response {
  return json(status, body, headers);
}

export function errorResponse(error: HttpError): Response {
  return json(error.status, { error: error.code, ...(error.message !== error.code ? { message: error.message } : {}), ...error.extra }, error.headers);
}

const OPENAI_ERROR_TYPES: Record<number, string> = {
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  429: "rate_limit_error",
};

/**
 * OpenAI's error body, which the official SDKs read (`error.message` is what they show): the
 * Basis code sits in `code`, the offending parameter in `param`.
 */
export function openAIErrorResponse(error: HttpError): Response {
  const type = OPENAI_ERROR_TYPES[error.status] ?? (error.status >= 500 ? "server_error" : "invalid_request_error");
  const param = typeof error.extra.param === "string" ? error.extra.param : typeof error.extra.field === "string" ? error.extra.field : null;
  const message = error.message !== error.code ? error.message : error.code.replaceAll("_", " ");
  const { param: _param, field: _field, ...more } = error.extra;
  return json(error.status, { error: { message, type, param, code: error.code, ...more } }, error.headers);
}

function tooLarge(): never {
  throw new HttpError(413, "body_too_large", "The request body is over 1 MiB.", {}, CLOSE_AFTER);
}

const honoBodyLimit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });

/**
 * The 1 MiB body limit. A declared length (which Bun.serve holds the body to) is checked from
 * the header, leaving the body untouched so `request.text()` keeps Bun's native fast path; a
 * chunked body goes through Hono's body limit, which counts it as it crosses.
 */
export const limitBody: MiddlewareHandler = (c, next) => {
  const headers = c.req.raw.headers;
  const declared = headers.get("content-length");
  if (declared !== null && !headers.has("transfer-encoding")) {
    if (Number(declared) > MAX_BODY_BYTES) tooLarge();
    return next();
  }
  return honoBodyLimit(c, next);
};

/** Characters a Bearer token may carry (RFC 6750 b64token); Hono's bearer auth reads no others. */
const BEARER_TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;

/** A secret that could never arrive as a Bearer token is refused at start, by name, never quoted. */
export function checkBearerSecret(name: string, secret: string | undefined): void {
  if (secret !== undefined && !BEARER_TOKEN.test(secret)) {
    throw new BasisError("secret_malformed", `${name} must be letters, digits and . _ ~ + / - (a Bearer token), optionally ending in =.`, {
      exitCode: 2,
      hint: "Generate one with: openssl rand -base64 32",
    });
  }
}

/**
 * Hono's bearer auth, compared in constant time (lib/core/token.ts: no early exit, length
 * folded in; synchronous, where Hono's own compare hashes both sides with async SHA-256 on
 * every request). A missing, malformed or wrong token is the same 401 `unauthorized`, so a
 * caller learns nothing about which it was; the app's error handler gives it the route's shape
 * (OpenAI's on /v1). Without a secret the route is open.
 */
export function requireBearer(secret: string | undefined): MiddlewareHandler {
  if (!secret) return (_c, next) => next();
  const unauthorized = (): never => {
    throw new HttpError(401, "unauthorized", "A valid Authorization: Bearer token is required.", {}, { "www-authenticate": 'Bearer realm=""', ...CLOSE_AFTER });
  };
  return bearerAuth({
    verifyToken: (token) => constantTimeEqual(token, secret),
    noAuthenticationHeader: { message: unauthorized },
    invalidAuthenticationHeader: { message: unauthorized },
    invalidToken: { message: unauthorized },
  });
}

/** The body as text within `BODY_READ_TIMEOUT_MS`, else 408 `body_timeout` and the connection closes. */
export async function readBodyText(request: Request): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new HttpError(408, "body_timeout", `The request body did not arrive within ${BODY_READ_TIMEOUT_MS / 1000} s.`, {}, CLOSE_AFTER));
    }, BODY_READ_TIMEOUT_MS);
  });
  try {
    return await Promise.race([request.text(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The body as parsed JSON, or a 400 `invalid_json` (`body_too_deep` past the nesting bound).
 * Read after `limitBody`.
 */
export async function readJsonValue(request: Request): Promise<unknown> {
  const text = await readBodyText(request);
  // Checked in one linear pass before anything parses or walks the value.
  if (jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new HttpError(400, "body_too_deep", `The body nests deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "invalid_json", "The body is not JSON.");
  }
}

/** Reads and validates a JSON body; failures become 400s naming the first bad field. */
export async function readJson<const S extends v.GenericSchema>(request: Request, schema: S): Promise<v.InferOutput<S>> {
  const value = await readJsonValue(request);
  const result = v.safeParse(schema, value);
  if (!result.success) {
    const { path, text } = firstIssueText(result.issues, "dotted", "invalid body");
    throw new HttpError(400, "invalid_request", text, path ? { field: path } : {});
  }
  return result.output;
}

/** Internal routes: off (403) without INTERNAL_API_SECRET, else behind its Bearer check. */
export function requireInternalSecret(secret: string | undefined): MiddlewareHandler {
  if (secret) return requireBearer(secret);
  return () => {
    throw new HttpError(403, "internal_api_disabled", "The internal API is off: INTERNAL_API_SECRET is not set on this server.", {}, CLOSE_AFTER);
  };
}
