import { afterEach, describe, expect, test } from "bun:test";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { BasisError } from "../../lib/core/errors.ts";
import { createBasisApi, type RegisterInput, resolveBaseUrl } from "../../lib/io/basis-api.ts";
import { DEFAULT_BASE_URL } from "../../lib/core/urls.ts";
import { startDeadUrl } from "../fakes/helpers.ts";

const WALLET = "0x52908400098527886e0f7030069857d2e4169ee7";
const FAST = { backoffMs: 10, timeoutMs: 1_000 };

interface Scripted {
  url: string;
  hits: { method: string; url: string; body: string }[];
  close(): Promise<void>;
}

const servers: Scripted[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A real HTTP server on 127.0.0.1:0 whose answers each test scripts. */
async function serve(answer: (req: IncomingMessage, res: ServerResponse, hit: number) => void): Promise<Scripted> {
  const hits: Scripted["hits"] = [];
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    hits.push({ method: req.method ?? "", url: req.url ?? "", body });
    answer(req, res, hits.length);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const scripted = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  servers.push(scripted);
  return scripted;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function failure(promise: Promise<unknown>): Promise<BasisError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  if (!(error instanceof BasisError)) throw new Error(`expected a BasisError, got ${String(error)}`);
  return error;
}

const REGISTER: RegisterInput = { worker_id: "gpu-1", worker_wallet: WALLET, runtime: "echo", models: ["basis-default"] };

describe("resolveBaseUrl", () => {
  test("prefers --base, then BASIS_BASE_URL, then basis.watch", () => {
    expect(resolveBaseUrl("http://a.example/", "http://b.example")).toBe("http://a.example");
    expect(resolveBaseUrl(undefined, "http://b.example")).toBe("http://b.example");
    expect(resolveBaseUrl(" ", "")).toBe(DEFAULT_BASE_URL);
  });

  const bad: [string, string][] = [
    ["not a URL", "basis.watch"],
    ["a websocket URL", "ws://127.0.0.1:8787"],
    ["credentials in the URL", "https://user:pass@basis.watch"],
    ["a query string", "https://basis.watch/?token=x"],
  ];
  for (const [name, value] of bad) {
    test(`refuses ${name}`, () => {
      let caught: unknown;
      try {
        resolveBaseUrl(value, undefined);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(BasisError);
      expect((caught as BasisError).code).toBe("base_url_malformed");
      expect((caught as BasisError).exitCode).toBe(2);
      expect((caught as BasisError).message).not.toContain("pass");
    });
  }
});

describe("createBasisApi", () => {
  test("register POSTs the worker as JSON and returns the answer", async () => {
    const server = await serve((_req, res) => json(res, 201, { worker: { worker_id: "gpu-1", worker_wallet: WALLET, online: false }, created: true }));
    const result = await createBasisApi({ base: server.url, ...FAST }).register(REGISTER);
    expect(result.created).toBe(true);
    expect(result.worker?.worker_id).toBe("gpu-1");
    expect(server.hits).toHaveLength(1);
    expect(server.hits[0]?.method).toBe("POST");
    expect(server.hits[0]?.url).toBe("/api/workers/register");
    expect(JSON.parse(server.hits[0]?.body ?? "")).toEqual(REGISTER);
  });

  test("reads the worker, its rewards and the onboarding state from their paths", async () => {
    const server = await serve((req, res) => {
      if (req.url === "/api/workers/gpu-1") return json(res, 200, { worker: { worker_id: "gpu-1", online: true, extra: 1 } });
      if (req.url === "/api/workers/gpu-1/rewards") return json(res, 200, { pending: "12", batching: "0", settled: 3, entries: [] });
      if (req.url === "/api/workers/onboarding/status?worker_id=gpu-1") return json(res, 200, { rows: [{ name: "Job routing", state: "off", detail: null }], new: true });
      json(res, 404, { error: "not_found" });
    });
    const api = createBasisApi({ base: server.url, ...FAST });
    const worker = await api.getWorker("gpu-1");
    expect(worker.online).toBe(true);
    expect(worker.extra).toBe(1);
    const rewards = await api.getRewards("gpu-1");
    expect([rewards.pending, rewards.settled]).toEqual(["12", "3"]);
    const onboarding = await api.getOnboarding("gpu-1");
    expect(onboarding.rows?.[0]?.name).toBe("Job routing");
    expect(onboarding.new).toBe(true);
  });

  test("publishPrices POSTs the manifest and returns the stored offer", async () => {
    const server = await serve((_req, res) => json(res, 201, { offerId: "off_1", priceVersion: 1, state: "self_reported" }));
    const manifest = { worker_id: "gpu-1", signature: "0xabc" };
    const offer = await createBasisApi({ base: server.url, ...FAST }).publishPrices(manifest);
    expect([offer.offerId, offer.priceVersion, offer.state]).toEqual(["off_1", 1, "self_reported"]);
    expect(server.hits[0]?.url).toBe("/api/workers/prices");
    expect(JSON.parse(server.hits[0]?.body ?? "")).toEqual(manifest);
  });

  test("retries a 500 a bounded number of times, then fails plainly", async () => {
    const server = await serve((_req, res) => json(res, 500, { error: "internal_error" }));
    const started = Date.now();
    const error = await failure(createBasisApi({ base: server.url, ...FAST }).getWorker("gpu-1"));
    expect(error.code).toBe("api_server_error");
    expect(error.message).toContain("HTTP 500 (3 tries)");
    expect(server.hits).toHaveLength(3);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  test("a 5xx followed by an answer succeeds", async () => {
    const server = await serve((_req, res, hit) => (hit === 1 ? json(res, 503, {}) : json(res, 200, { worker: { worker_id: "gpu-1" } })));
    expect((await createBasisApi({ base: server.url, ...FAST }).getWorker("gpu-1")).worker_id).toBe("gpu-1");
    expect(server.hits).toHaveLength(2);
  });

  test("retries a 429 too", async () => {
    const server = await serve((_req, res) => json(res, 429, { error: "rate_limited" }));
    expect((await failure(createBasisApi({ base: server.url, ...FAST, tries: 2 }).getWorker("gpu-1"))).code).toBe("api_server_error");
    expect(server.hits).toHaveLength(2);
  });

  test("the default retries end within 10 s against a dead address", async () => {
    const started = Date.now();
    const error = await failure(createBasisApi({ base: await startDeadUrl() }).getWorker("gpu-1"));
    expect(error.code).toBe("api_unreachable");
    expect(error.message).toContain("(3 tries)");
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test("an answer that never comes is a timeout", async () => {
    const server = await serve(() => undefined);
    const error = await failure(createBasisApi({ base: server.url, tries: 1, timeoutMs: 150 }).getWorker("gpu-1"));
    expect(error.code).toBe("api_timeout");
    expect(error.message).not.toContain("tries");
  });

  test("a non-JSON answer is a clear error and is not retried", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>login</html>");
    });
    const error = await failure(createBasisApi({ base: server.url, ...FAST }).getWorker("gpu-1"));
    expect(error.code).toBe("api_bad_response");
    expect(error.message).toContain("not JSON");
    expect(server.hits).toHaveLength(1);
  });

  const refusals: [string, number, unknown, string, number][] = [
    ["a 400 on the wallet", 400, { error: "invalid_request", field: "worker_wallet" }, "wallet_malformed", 2],
    ["a 400 on another field", 400, { error: "invalid_request", field: "worker_id" }, "api_bad_request", 2],
    ["a 401", 401, { error: "auth_required" }, "auth_required", 1],
    ["a 403 wallet_not_linked", 403, { error: "wallet_not_linked" }, "wallet_not_linked", 1],
    ["a 409", 409, { error: "worker_id_taken" }, "worker_id_taken", 2],
    ["a 404 for the worker", 404, { error: "worker_not_found" }, "worker_not_found", 1],
    ["a 418", 418, { error: "teapot" }, "api_error", 1],
  ];
  for (const [name, status, body, code, exitCode] of refusals) {
    test(`maps ${name} to ${code}, without retrying`, async () => {
      const server = await serve((_req, res) => json(res, status, body));
      const error = await failure(createBasisApi({ base: server.url, ...FAST }).register(REGISTER));
      expect(error.code).toBe(code);
      expect(error.exitCode).toBe(exitCode);
      expect(server.hits).toHaveLength(1);
    });
  }

  test("a 404 on an endpoint the API lacks is not mistaken for a missing worker", async () => {
    const server = await serve((_req, res) => json(res, 404, { error: "not_found" }));
    expect((await failure(createBasisApi({ base: server.url, ...FAST }).getOnboarding("gpu-1"))).code).toBe("api_not_found");
  });

  test("never repeats text from the server that is not a plain error code", async () => {
    const injected = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
    const server = await serve((_req, res) => json(res, 418, { error: `boom ${injected}`, message: injected }));
    const error = await failure(createBasisApi({ base: server.url, ...FAST }).getWorker("gpu-1"));
    expect(JSON.stringify({ ...error.toJSON(), message: error.message })).not.toContain(injected.slice(2));
  });

  test("refuses an answer in the wrong shape, such as a float amount", async () => {
    const server = await serve((_req, res) => json(res, 200, { pending: 1.5 }));
    const error = await failure(createBasisApi({ base: server.url, ...FAST }).getRewards("gpu-1"));
    expect(error.code).toBe("api_bad_response");
    expect(error.message).toContain("pending");
  });
});
