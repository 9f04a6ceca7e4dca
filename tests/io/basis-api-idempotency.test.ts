/**
 * The client repeats only calls that are safe to repeat, and the server makes the state-changing
 * POSTs safe with Idempotency-Key. The scene that used to fail: a real orchestrator accepts a
 * price publish, but its answer comes too late, so the client tries again; the second try must
 * get the first answer back, not `offer_replayed`.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { API_PATHS, IDEMPOTENCY_HEADER, IDEMPOTENT_REPLAYED_HEADER } from "../../lib/core/api-contract.ts";
import { buildManifest } from "../../lib/core/manifest.ts";
import { signManifest } from "../../lib/core/manifest-signature.ts";
import { createBasisApi } from "../../lib/io/basis-api.ts";
import type { Orchestrator } from "../../lib/orchestrator/server.ts";
import { startTestOrchestrator } from "../helpers/harness.ts";
import { DEFAULT_MODEL_OFFER, throwawayKey } from "../helpers/prices.ts";

const OWNER = throwawayKey("basis-worker idempotency test key");
const FAST = { backoffMs: 10, timeoutMs: 1_000 };

let orchestrator: Orchestrator | undefined;
let proxy: ReturnType<typeof Bun.serve> | undefined;
afterEach(async () => {
  await proxy?.stop(true);
  proxy = undefined;
  await orchestrator?.close();
  orchestrator = undefined;
});

interface Seen {
  method: string;
  path: string;
  key: string | null;
  status: number;
  replayed: boolean;
}

/**
 * A proxy in front of a real orchestrator that is slow but accepts: each request reaches the
 * orchestrator at once (so it lands), but the first answer on `slowPath` is held back until the
 * client has given up on it and sent its next try.
 */
function slowProxy(upstream: string, slowPath: string): { url: string; seen: Seen[] } {
  const seen: Seen[] = [];
  let nextTry = Promise.withResolvers<void>();
  proxy = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const headers = new Headers(request.headers);
      headers.delete("host");
      const body = request.method === "GET" ? undefined : await request.text();
      const answer = await fetch(`${upstream}${url.pathname}${url.search}`, { method: request.method, headers, ...(body === undefined ? {} : { body }) });
      const text = await answer.text();
      const first = url.pathname === slowPath && !seen.some((s) => s.path === slowPath);
      seen.push({ method: request.method, path: url.pathname, key: request.headers.get(IDEMPOTENCY_HEADER), status: answer.status, replayed: answer.headers.has(IDEMPOTENT_REPLAYED_HEADER) });
      if (url.pathname === slowPath && !first) nextTry.resolve();
      if (first) {
        // Landed; the answer waits for the client's next try, which comes only after its timeout.
        await nextTry.promise;
        nextTry = Promise.withResolvers<void>();
      }
      return new Response(text, { status: answer.status, headers: answer.headers });
    },
  });
  return { url: `http://127.0.0.1:${proxy.port}`, seen };
}

async function signedManifest(workerId: string, now = new Date()) {
  const unsigned = buildManifest({ prices: { hardware: { gpu: "RTX 4090" }, models: [DEFAULT_MODEL_OFFER] }, workerId, workerWallet: OWNER.wallet, now });
  return (await signManifest(unsigned, OWNER.key)).manifest;
}

describe("a slow server that accepts", () => {
  test("price publish tried again after a timeout gets the first answer back, and one offer exists", async () => {
    orchestrator = await startTestOrchestrator();
    const direct = createBasisApi({ base: orchestrator.url, ...FAST });
    await direct.register({ worker_id: "slow-1", worker_wallet: OWNER.wallet, runtime: "ollama", models: ["basis-default"] });
    const { url, seen } = slowProxy(orchestrator.url, API_PATHS.prices);

    const offer = await createBasisApi({ base: url, ...FAST }).publishPrices(await signedManifest("slow-1"));

    // Every try carried the first one's key; the first landed, every later one was a replay of it.
    const tries = seen.filter((s) => s.path === API_PATHS.prices);
    expect(tries.length).toBeGreaterThanOrEqual(2);
    expect(tries[0]?.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(tries.map((t) => t.key)).size).toBe(1);
    expect(tries.map((t) => [t.status, t.replayed])).toEqual([[201, false], ...tries.slice(1).map(() => [201, true])]);
    expect(offer.priceVersion).toBe(1);
    expect(offer.state).toBe("self_reported");
    const market = (await (await fetch(`${orchestrator.url}${API_PATHS.market}`)).json()) as { offers: { offerId: string; priceVersion: number }[] };
    expect(market.offers.map((o) => [o.offerId, o.priceVersion])).toEqual([[offer.offerId, 1]]);
  });

  test("register tried again after a timeout answers as the first try did (created), not as an update", async () => {
    orchestrator = await startTestOrchestrator();
    const { url, seen } = slowProxy(orchestrator.url, API_PATHS.register);
    const result = await createBasisApi({ base: url, ...FAST }).register({ worker_id: "slow-2", worker_wallet: OWNER.wallet, runtime: "ollama", models: ["m"] });
    expect(result.created).toBe(true);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.map((s) => s.replayed)).toEqual([false, ...seen.slice(1).map(() => true)]);
  });

  test("each call gets its own key: publishing twice is two offers", async () => {
    orchestrator = await startTestOrchestrator();
    const api = createBasisApi({ base: orchestrator.url, ...FAST });
    await api.register({ worker_id: "slow-3", worker_wallet: OWNER.wallet, runtime: "ollama", models: ["basis-default"] });
    const at = Date.now();
    const first = await api.publishPrices(await signedManifest("slow-3", new Date(at - 1_000)));
    const second = await api.publishPrices(await signedManifest("slow-3", new Date(at)));
    expect([first.priceVersion, second.priceVersion]).toEqual([1, 2]);
  });
});

describe("Idempotency-Key on the server", () => {
  const post = (o: Orchestrator, path: string, body: unknown, key?: string) =>
    fetch(`${o.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key === undefined ? {} : { [IDEMPOTENCY_HEADER]: key }) },
      body: JSON.stringify(body),
    });

  test("a repeat gets the same answer, marked replayed; another body under the key is 422; a bad key is 400", async () => {
    orchestrator = await startTestOrchestrator();
    const body = { worker_id: "idem-1", worker_wallet: OWNER.wallet, runtime: "echo", models: ["m"] };
    const first = await post(orchestrator, API_PATHS.register, body, "k-1");
    const again = await post(orchestrator, API_PATHS.register, body, "k-1");
    expect([first.status, again.status]).toEqual([201, 201]);
    expect(await again.json()).toEqual(await first.json());
    expect(again.headers.get(IDEMPOTENT_REPLAYED_HEADER)).toBe("true");
    expect(first.headers.has(IDEMPOTENT_REPLAYED_HEADER)).toBe(false);
    // Without a key the same body runs again: an update, not a creation.
    expect((await post(orchestrator, API_PATHS.register, body)).status).toBe(200);
    const reused = await post(orchestrator, API_PATHS.register, { ...body, models: ["other"] }, "k-1");
    expect(reused.status).toBe(422);
    expect(((await reused.json()) as { error: string }).error).toBe("idempotency_key_reused");
    // The same key on another path is another request.
    expect((await post(orchestrator, API_PATHS.heartbeat, { worker_id: "idem-1" }, "k-1")).status).toBe(200);
    const bad = await post(orchestrator, API_PATHS.register, body, "has space");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe("invalid_idempotency_key");
  });

  test("two tries at once run once: the second waits for the first's answer", async () => {
    orchestrator = await startTestOrchestrator();
    const body = { worker_id: "idem-2", worker_wallet: OWNER.wallet, runtime: "echo", models: ["m"] };
    const answers = await Promise.all([post(orchestrator, API_PATHS.register, body, "k-2"), post(orchestrator, API_PATHS.register, body, "k-2")]);
    expect(answers.map((a) => a.status)).toEqual([201, 201]);
    expect(answers.filter((a) => a.headers.has(IDEMPOTENT_REPLAYED_HEADER))).toHaveLength(1);
  });
});

describe("the client repeats only what is safe to repeat", () => {
  test("a register that failed with 5xx is tried again with the same key; a new call brings a new key", async () => {
    const keys: (string | null)[] = [];
    let hits = 0;
    proxy = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(request) {
        hits++;
        keys.push(request.headers.get(IDEMPOTENCY_HEADER));
        if (hits === 1) return Response.json({ error: "internal_error" }, { status: 500 });
        return Response.json({ worker: { worker_id: "k-3" }, created: hits === 2 }, { status: hits === 2 ? 201 : 200 });
      },
    });
    const api = createBasisApi({ base: `http://127.0.0.1:${proxy.port}`, ...FAST });
    const input = { worker_id: "k-3", worker_wallet: OWNER.wallet, runtime: "echo" as const, models: ["m"] };
    expect((await api.register(input)).created).toBe(true);
    expect((await api.register(input)).created).toBe(false);
    expect(keys).toHaveLength(3);
    expect(keys[1]).toBe(keys[0] as string);
    expect(keys[2]).not.toBe(keys[0] as string);
  });

  test("a GET carries no key", async () => {
    let key: string | null = "unset";
    proxy = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(request) {
        key = request.headers.get(IDEMPOTENCY_HEADER);
        return Response.json({ worker: { worker_id: "g-1" } });
      },
    });
    await createBasisApi({ base: `http://127.0.0.1:${proxy.port}`, ...FAST }).getWorker("g-1");
    expect(key).toBeNull();
  });
});
