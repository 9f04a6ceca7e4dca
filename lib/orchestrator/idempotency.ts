/**
 * `Idempotency-Key` on the POST routes that change state (register, heartbeat, prices): a
 * request that repeats a key gets the first request's answer again instead of running twice,
 * so a client may retry a POST whose answer it never saw (a timeout, a dropped connection)
 * without publishing an offer twice or reading its own first attempt back as a replay.
 *
 * - A key is scoped to its path, kept for 24 hours (at most 10,000 keys, oldest dropped first).
 * - A repeat that arrives while the first is still running waits for the first's answer.
 * - The same key with another body is refused: `422 idempotency_key_reused`.
 * - A replayed answer carries `idempotent-replayed: true`. A 5xx answer is not kept: the next
 *   try runs again.
 */
import { createHash } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { IDEMPOTENCY_HEADER, IDEMPOTENT_REPLAYED_HEADER as REPLAYED_HEADER } from "../core/api-contract.ts";
import { HttpError, readBodyText } from "./http.ts";
const KEY = /^[\x21-\x7e]{1,200}$/;
const KEEP_MS = 24 * 60 * 60 * 1000;
const MAX_KEYS = 10_000;

interface Saved {
  status: number;
  headers: [string, string][];
  body: string;
}

interface Entry {
  fingerprint: string;
  at: number;
  answer: Promise<Saved>;
}

export class IdempotencyCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.entries.size;
  }

  lookup(id: string): Entry | undefined {
    const entry = this.entries.get(id);
    if (entry && this.now() - entry.at > KEEP_MS) {
      this.entries.delete(id);
      return undefined;
    }
    return entry;
  }

  start(id: string, fingerprint: string, answer: Promise<Saved>): void {
    this.entries.set(id, { fingerprint, at: this.now(), answer });
    while (this.entries.size > MAX_KEYS) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  forget(id: string): void {
    this.entries.delete(id);
  }
}

function replay(saved: Saved): Response {
  const headers = new Headers(saved.headers);
  headers.set(REPLAYED_HEADER, "true");
  return new Response(saved.body, { status: saved.status, headers });
}

/** Honours `Idempotency-Key` on one route; requests without the header pass straight through. */
export function honourIdempotencyKey(cache: IdempotencyCache): MiddlewareHandler {
  return async (c, next) => {
    const key = c.req.header(IDEMPOTENCY_HEADER);
    if (key === undefined) return next();
    if (!KEY.test(key)) {
      throw new HttpError(400, "invalid_idempotency_key", "The Idempotency-Key header must be 1-200 visible ASCII characters.");
    }
    // Under the same body deadline as the route's own read.
    const fingerprint = createHash("sha256").update(await readBodyText(c.req.raw.clone())).digest("hex");
    const id = `${c.req.path}\n${key}`;
    const earlier = cache.lookup(id);
    if (earlier) {
      if (earlier.fingerprint !== fingerprint) {
        throw new HttpError(422, "idempotency_key_reused", "This Idempotency-Key was sent before with another body.", {
          hint: "Use a fresh key for each new request.",
        });
      }
      c.res = replay(await earlier.answer);
      return;
    }
    const answer = Promise.withResolvers<Saved>();
    cache.start(id, fingerprint, answer.promise);
    try {
      await next();
    } finally {
      // Hono has turned a thrown error into c.res by now (onError), so this is the answer sent.
      const body = await c.res.clone().text();
      const saved = { status: c.res.status, headers: [...c.res.headers], body };
      if (saved.status >= 500) cache.forget(id);
      answer.resolve(saved);
    }
  };
}
