/**
 * A small router over web-standard Request/Response (served by Bun.serve), with JSON helpers.
 * Every body is parsed once, here, against a valibot schema; a handler receives typed values or
 * the caller gets a 400 with a stable code.
 */
import * as v from "valibot";
import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from "../core/json-depth.ts";
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

export interface RouteContext {
  request: Request;
  params: Record<string, string>;
  url: URL;
}

export type Handler = (ctx: RouteContext) => Promise<Response> | Response;

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  on(method: string, path: string, handler: Handler): this {
    this.routes.push({ method, parts: path.split("/").filter(Boolean), handler });
    return this;
  }

  /** Static segments win over parameters, so `/api/workers/market` beats `/api/workers/:id`. */
  match(method: string, pathname: string): { handler: Handler; params: Record<string, string> } | "method" | undefined {
    const segments = pathname.split("/").filter(Boolean);
    let best: { handler: Handler; params: Record<string, string>; score: number } | undefined;
    let pathMatched = false;
    for (const route of this.routes) {
      if (route.parts.length !== segments.length) continue;
      const params: Record<string, string> = {};
      let score = 0;
      const ok = route.parts.every((part, i) => {
        const segment = segments[i] as string;
        if (part.startsWith(":")) {
          try {
            params[part.slice(1)] = decodeURIComponent(segment);
          } catch {
            return false;
          }
          return true;
        }
        score++;
        return part === segment;
      });
      if (!ok) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      if (!best || score > best.score) best = { handler: route.handler, params, score };
    }
    if (best) return best;
    return pathMatched ? "method" : undefined;
  }
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
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

function tooLarge(): HttpError {
  return new HttpError(413, "body_too_large", "The request body is over 1 MiB.");
}

export async function readBody(request: Request): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared)) {
    // The server holds the body to its declared length, so a declared size is a true bound.
    if (Number(declared) > MAX_BODY_BYTES) throw tooLarge();
    return await request.text();
  }
  if (request.body === null) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** The body as parsed JSON, or a 400 `invalid_json` (`body_too_deep` past the nesting bound). */
export async function readJsonValue(request: Request): Promise<unknown> {
  const text = await readBody(request);
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
    const issue = result.issues[0];
    const path = issue?.path?.map((p) => String(p.key)).join(".") ?? "";
    throw new HttpError(400, "invalid_request", `${path ? `${path}: ` : ""}${issue?.message ?? "invalid body"}`, path ? { field: path } : {});
  }
  return result.output;
}

/** When `secret` is set, the request must carry it as a Bearer token, else 401 `unauthorized`. */
export function requireBearer(request: Request, secret: string | undefined): void {
  if (!secret) return;
  const token = bearerToken(request);
  if (!token || !constantTimeEqual(token, secret)) throw new HttpError(401, "unauthorized", "A valid Authorization: Bearer token is required.");
}

export function bearerToken(request: Request): string | undefined {
  const header = request.headers.get("authorization") ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header);
  return match?.[1]?.trim();
}
