/**
 * A generated corpus of hostile HTTP requests, as raw bytes, for every route of the
 * orchestrator: broken framing, missing or empty Host, odd methods and paths, wrong and long
 * credentials, bodies that are not JSON, are too deep, too wide, too large, secret-shaped or
 * prototype-polluting, and bodies that never finish. Deterministic: one seed, one corpus.
 */
import { seededUniform as seeded } from "../../scripts/tiny-model.ts";

export interface HostileRequest {
  name: string;
  bytes: Uint8Array;
  /** The body is announced but never finished: the server must time out the read and close. */
  halfSent?: boolean;
  /** Sent keep-alive without credentials: the server must close the connection after its answer. */
  unauthenticatedKeepAlive?: boolean;
}

const ROUTES: [string, string][] = [
  ["GET", "/healthz"],
  ["POST", "/v1/dispatch"],
  ["POST", "/v1/chat/completions"],
  ["POST", "/api/workers/register"],
  ["POST", "/api/workers/heartbeat"],
  ["GET", "/api/workers/onboarding/status"],
  ["GET", "/api/workers/market"],
  ["POST", "/api/workers/prices"],
  ["POST", "/api/workers/hostile-worker/verification"],
  ["GET", "/v1/models"],
  ["GET", "/v1/models/basis-default"],
  ["GET", `/api/receipts/${"ab".repeat(32)}`],
  ["GET", "/metrics"],
  ["GET", "/api/workers/hostile-worker/rewards"],
  ["GET", "/api/workers/hostile-worker"],
  ["GET", "/socket.io/?EIO=4&transport=polling"],
  ["POST", "/socket.io/?EIO=4&transport=polling&sid=nope"],
];

const KEY_64 = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
const PHRASE_12 = "abandon ability able about above absent absorb abstract absurd abuse access accident";

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function randomBytes(random: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

function bodies(random: () => number): [string, Uint8Array | string][] {
  const deep = (n: number) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
  return [
    ["empty", ""],
    ["random bytes", randomBytes(random, 1 + Math.floor(random() * 2048))],
    ["invalid UTF-8", new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
    ["truncated JSON", '{"worker_id": "gpu-1", "models": ['],
    ["a JSON array", "[1,2,3]"],
    ["a JSON string", '"hello"'],
    ["null", "null"],
    ["nested 100,000 deep in arrays", `${"[".repeat(100_000)}${"]".repeat(100_000)}`],
    ["nested 30,000 deep in objects", deep(30_000)],
    ["nested 65 deep", deep(65)],
    ["a 200,000-element array", `[${"0,".repeat(199_999)}0]`],
    ["a string over 1 MiB", JSON.stringify({ model: "x".repeat((1 << 20) + 10) })],
    ["__proto__ pollution", '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}'],
    ["a private key in a field", JSON.stringify({ worker_id: "gpu-1", worker_wallet: KEY_64, runtime: "echo", models: ["m"] })],
    ["a seed phrase as a key", JSON.stringify({ [PHRASE_12]: 1 })],
    ["wrong types", JSON.stringify({ worker_id: 7, worker_wallet: [], runtime: {}, models: "m", model: 1, messages: "hi", max_tokens: -1 })],
    ["huge numbers", '{"max_tokens": 1e400, "temperature": -1e308, "seed": 123456789012345678901234567890}'],
    ["duplicate keys", '{"model": "a", "model": "basis-default", "messages": [], "messages": [{"role":"user","content":"x"}]}'],
    ["control characters", `{"worker_id": "\\u0000\\u001b[31m", "models": ["\\ud800"]}`],
    ["a dispatch with 10,000 messages", JSON.stringify({ model: "basis-default", messages: Array.from({ length: 10_000 }, () => ({ role: "user", content: "x" })) })],
    ["a valid dispatch", JSON.stringify({ model: "basis-default", messages: [{ role: "user", content: "hi" }], max_tokens: 4 })],
    ["a valid streamed dispatch", JSON.stringify({ model: "basis-default", messages: [{ role: "user", content: "hi" }], max_tokens: 4, stream: true })],
  ];
}

const encoder = new TextEncoder();

function concat(head: string, body: Uint8Array | string): Uint8Array {
  const b = typeof body === "string" ? encoder.encode(body) : body;
  const h = encoder.encode(head);
  const out = new Uint8Array(h.length + b.length);
  out.set(h);
  out.set(b, h.length);
  return out;
}

function bodyLength(body: Uint8Array | string): number {
  return typeof body === "string" ? encoder.encode(body).length : body.length;
}

/** `count` requests from `seed`; every route and every hostile shape appears. */
export function hostileCorpus(seed: number, count: number, secret: string): HostileRequest[] {
  const random = seeded(seed);
  const bodyList = bodies(random);
  const out: HostileRequest[] = [];
  const auths = ["", `Authorization: Bearer ${secret}\r\n`, "Authorization: Bearer wrong\r\n", `Authorization: Basic ${btoa("a:b")}\r\n`, `Authorization: Bearer ${"x".repeat(8_000)}\r\n`, "Authorization: Bearer\r\n"];
  const paths = (path: string) => [
    path,
    `${path}/`,
    `${path}?limit=-1&limit=1e999`,
    `${path}/%2e%2e/%2e%2e/etc/passwd`,
    `${path}%00`,
    `/api/workers/${"%ff".repeat(50)}`,
    `/api/workers/${"w".repeat(5_000)}/rewards`,
    `/api/workers/..%2f..%2f/rewards`,
    "/api/workers/%F0%9F%92%A5",
    "//healthz",
    "/HEALTHZ",
    "*",
    "http://evil.example/healthz",
  ];
  // Every body on every route, with and without the secret, then random mixtures.
  for (const [method, path] of ROUTES) {
    for (const [bodyName, body] of bodyList) {
      const auth = path.startsWith("/v1/") || path.endsWith("/verification") || path.startsWith("/api/receipts") || path === "/metrics" ? pick(random, auths.slice(0, 3)) : "";
      out.push({
        name: `${method} ${path} with ${bodyName}`,
        bytes: concat(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${auth}Content-Type: application/json\r\nContent-Length: ${bodyLength(body)}\r\n\r\n`, body),
      });
    }
  }
  const framings: ((method: string, path: string, body: Uint8Array | string, auth: string) => HostileRequest)[] = [
    (m, p, b, a) => ({ name: `${m} ${p}: HTTP/1.0 with an empty Host`, bytes: concat(`${m} ${p} HTTP/1.0\r\nHost:\r\n${a}Content-Length: ${bodyLength(b)}\r\n\r\n`, b) }),
    (m, p, b, a) => ({ name: `${m} ${p}: HTTP/1.0 without Host`, bytes: concat(`${m} ${p} HTTP/1.0\r\n${a}Content-Length: ${bodyLength(b)}\r\n\r\n`, b) }),
    (m, p, b, a) => ({ name: `${m} ${p}: HTTP/1.1 without Host`, bytes: concat(`${m} ${p} HTTP/1.1\r\n${a}Content-Length: ${bodyLength(b)}\r\n\r\n`, b) }),
    (m, p, b, a) => ({ name: `${m} ${p}: two Hosts`, bytes: concat(`${m} ${p} HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n${a}Content-Length: ${bodyLength(b)}\r\n\r\n`, b) }),
    (m, p, b, a) => ({ name: `${m} ${p}: a Host with a path`, bytes: concat(`${m} ${p} HTTP/1.1\r\nHost: a/b?c#d\r\nConnection: close\r\n${a}Content-Length: ${bodyLength(b)}\r\n\r\n`, b) }),
    (m, p, b, a) => ({ name: `${m} ${p}: two Content-Lengths`, bytes: concat(`${m} ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${a}Content-Length: 3\r\nContent-Length: ${bodyLength(b)}\r\n\r\n`, b) }),
    (m, p, b, a) => ({ name: `${m} ${p}: chunked and a length (smuggling)`, bytes: concat(`${m} ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${a}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`, "") }),
    (m, p, _b, a) => ({ name: `${m} ${p}: a broken chunk`, bytes: concat(`${m} ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${a}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`, "") }),
    (m, p, b, a) => ({ name: `${m} ${p}: a negative length`, bytes: concat(`${m} ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${a}Content-Length: -5\r\n\r\n`, b) }),
    (m, p, b, a) => ({ name: `${m} ${p}: a 64 KB header`, bytes: concat(`${m} ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${a}X-Big: ${"y".repeat(65_536)}\r\nContent-Length: ${bodyLength(b)}\r\n\r\n`, b) }),
    (m, p, b, a) => ({ name: `${m} ${p}: a bare LF request`, bytes: concat(`${m} ${p} HTTP/1.1\nHost: x\nConnection: close\n${a.replace("\r\n", "\n")}Content-Length: ${bodyLength(b)}\n\n`, b) }),
    (m, p, b, a) => ({ name: `${m} ${p}: a NUL in a header`, bytes: concat(`${m} ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-A: a\u0000b\r\n${a}Content-Length: ${bodyLength(b)}\r\n\r\n`, b) }),
    (m, p, b, a) => ({ name: `${m} ${p}: HTTP/2 preface`, bytes: concat("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", b.slice(0, 32)) }),
    (_m, p, b, a) => ({ name: `${p}: an unknown method`, bytes: concat(`BREW ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${a}Content-Length: ${bodyLength(b)}\r\n\r\n`, b) }),
    (_m, p, _b, a) => ({ name: `${p}: OPTIONS`, bytes: concat(`OPTIONS ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${a}\r\n`, "") }),
    (_m, p, _b, a) => ({ name: `${p}: HEAD`, bytes: concat(`HEAD ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${a}\r\n`, "") }),
    (m, p, b, a) => ({ name: `${m} ${p}: pipelined twice`, bytes: concat(`${m} ${p} HTTP/1.1\r\nHost: x\r\n${a}Content-Length: ${bodyLength(b)}\r\n\r\n`, concat(typeof b === "string" ? b : new TextDecoder().decode(b), `GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)) }),
    (m, p, b, a) => ({ name: `${m} ${p}: wrong content type`, bytes: concat(`${m} ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${a}Content-Type: multipart/form-data; boundary=zz\r\nContent-Length: ${bodyLength(b)}\r\n\r\n`, b) }),
  ];
  while (out.length < count) {
    const [method, basePath] = pick(random, ROUTES);
    const [, body] = pick(random, bodyList);
    const path = random() < 0.3 ? pick(random, paths(basePath)) : basePath;
    const auth = pick(random, auths);
    out.push(pick(random, framings)(method, path, typeof body === "string" && body.length > 300_000 ? body.slice(0, 1000) : body, auth));
  }
  // Bodies that never finish: announced, partly sent, then silence.
  for (const [method, path] of ROUTES.filter(([m]) => m === "POST")) {
    for (const auth of ["", `Authorization: Bearer ${secret}\r\n`]) {
      out.push({ name: `${method} ${path}: a half-sent body${auth ? " with the secret" : ""}`, halfSent: true, bytes: concat(`${method} ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n`, '{"model": "basis-de') });
    }
  }
  // Keep-alive requests without credentials: each must be answered and then closed by the server.
  for (const path of ["/v1/dispatch", "/v1/chat/completions", "/api/workers/hostile-worker/verification"]) {
    for (const auth of ["", "Authorization: Bearer wrong\r\n"]) {
      const body = JSON.stringify({ model: "basis-default", messages: [{ role: "user", content: "hi" }] });
      out.push({ name: `POST ${path}: keep-alive, ${auth ? "a wrong secret" : "no secret"}`, unauthenticatedKeepAlive: true, bytes: concat(`POST ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, body) });
    }
  }
  return out;
}
