import { afterEach, describe, expect, test } from "bun:test";
import { keccak256, toBytes } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { BasisError } from "../../../lib/core/errors.ts";
import { buildManifest } from "../../../lib/core/manifest.ts";
import { signManifest } from "../../../lib/core/manifest-signature.ts";
import type { InferenceRequest } from "../../../lib/core/protocol.ts";
import { type Orchestrator, startOrchestrator } from "../../../lib/orchestrator/server.ts";
import type { TokenPolicy } from "../../../lib/core/token.ts";
import { judgeVerification, looksCoherent, MIN_VERIFICATION_TOKENS_PER_S } from "../../../lib/orchestrator/routes/verification.ts";
import type { RunOptions, RunResult, Runtime } from "../../../lib/worker/runtimes/runtime.ts";
import { quietLog, startTestWorker, waitUntil } from "../../helpers/harness.ts";
import { call } from "../_helpers.ts";

// Throwaway values made at run time for this test only.
const KEY = keccak256(toBytes("basis-worker verification route test key"));
const WALLET = privateKeyToAccount(KEY).address;
const SECRET = `internal-${crypto.randomUUID()}`;
const AUTH_KEY = `auth-${crypto.randomUUID()}`;

/** A real-protocol backend whose answer each test sets; named ollama so it is not the simulator. */
class CannedRuntime implements Runtime {
  readonly name = "ollama" as const;
  requests: InferenceRequest[] = [];
  constructor(public answer: { text: string; tokens: number; delayMs?: number; fail?: boolean }) {}
  backendModel(advertised: string): string {
    return advertised;
  }
  async check(): Promise<void> {}
  async healthy(): Promise<boolean> {
    return true;
  }
  async run(request: InferenceRequest, options: RunOptions): Promise<RunResult> {
    this.requests.push(request);
    if (this.answer.delayMs) await new Promise((r) => setTimeout(r, this.answer.delayMs));
    if (this.answer.fail) throw new BasisError("backend_error", "model exploded");
    options.onDelta({ content: this.answer.text });
    return { text: this.answer.text, finish_reason: "stop", usage: { prompt_tokens: 20, completion_tokens: this.answer.tokens } };
  }
}

const DAYS = "Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday";
let api: Orchestrator | undefined;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await api?.close();
  api = undefined;
});

async function serve(options: { secret?: string; policy?: TokenPolicy } = {}): Promise<Orchestrator> {
  api = await startOrchestrator({
    host: "127.0.0.1",
    port: 0,
    log: quietLog,
    policy: options.policy ?? { authKey: AUTH_KEY },
    internalApiSecret: "secret" in options ? options.secret : SECRET,
  });
  return api;
}

async function workerOnline(orchestrator: Orchestrator, runtime?: Runtime, env: Record<string, string> = {}): Promise<void> {
  const handle = await startTestWorker(
    orchestrator,
    {
      BASIS_WORKER_WALLET: WALLET,
      BASIS_WORKER_AUTH_KEY: AUTH_KEY,
      BASIS_WORKER_RUNTIME: runtime ? "ollama" : "echo",
      ...(runtime ? { BASIS_OLLAMA_MODEL: "basis-default" } : {}),
      ...env,
    },
    runtime,
  );
  stops.push(handle.stop);
  await waitUntil("worker online", () => orchestrator.registry.get("test-worker") !== undefined);
}

/** `token: null` sends no Authorization header at all. */
function verify(orchestrator: Orchestrator, token: string | null = SECRET, id = "test-worker") {
  return fetch(`${orchestrator.url}/api/workers/${id}/verification`, {
    method: "POST",
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  }).then(async (res) => ({ status: res.status, text: await res.text() })).then((r) => ({ ...r, body: JSON.parse(r.text) }));
}

async function publishOffer(orchestrator: Orchestrator): Promise<void> {
  const unsigned = buildManifest({
    prices: {
      hardware: { gpu: "test" },
      models: [
        {
          model_id: "basis-default",
          runtime: "ollama",
          prompt_credits_per_1m: "460000000",
          output_credits_per_1m: "1840000000",
          min_job_credits: "50000000",
          max_context_tokens: 8192,
          max_output_tokens: 1024,
          concurrency: 1,
        },
      ],
    },
    workerId: "test-worker",
    workerWallet: WALLET,
    now: new Date(),
  });
  const answer = await call(orchestrator, "POST", "/api/workers/prices", (await signManifest(unsigned, KEY)).manifest);
  expect(answer.status).toBe(201);
}

const marketState = async (orchestrator: Orchestrator) => (await call(orchestrator, "GET", "/api/workers/market")).body.offers[0].state;

describe("verificationRoute", () => {
  test("is off (403) when INTERNAL_API_SECRET is not set", async () => {
    const orchestrator = await serve({ secret: undefined });
    const answer = await verify(orchestrator);
    expect(answer.status).toBe(403);
    expect(answer.body.error).toBe("internal_api_disabled");
  });

  test("refuses a missing or wrong secret (401) without echoing either", async () => {
    const orchestrator = await serve();
    for (const token of [null, "wrong-secret", `${SECRET}x`]) {
      const answer = await verify(orchestrator, token);
      expect(answer.status).toBe(401);
      expect(answer.body.error).toBe("unauthorized");
      expect(answer.text).not.toContain(SECRET);
      if (token) expect(answer.text).not.toContain(token);
    }
  });

  test("answers 404 for an unknown worker and 409 for one that is not connected", async () => {
    const orchestrator = await serve();
    expect((await verify(orchestrator, SECRET, "nobody")).body.error).toBe("worker_not_found");
    await call(orchestrator, "POST", "/api/workers/register", { worker_id: "test-worker", worker_wallet: WALLET, runtime: "ollama", models: ["basis-default"] });
    const answer = await verify(orchestrator);
    expect(answer.status).toBe(409);
    expect(answer.body.error).toBe("worker_not_connected");
  });

  test("a coherent, payable answer passes, the offer reads verified, and the job is not credited", async () => {
    const orchestrator = await serve();
    const runtime = new CannedRuntime({ text: DAYS, tokens: 16 });
    await workerOnline(orchestrator, runtime);
    await publishOffer(orchestrator);
    expect(await marketState(orchestrator)).toBe("self_reported");

    const answer = await verify(orchestrator);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ worker_id: "test-worker", model: "basis-default", passed: true, reasons: [] });
    expect(answer.body.tokensPerSecond).toBeGreaterThanOrEqual(MIN_VERIFICATION_TOKENS_PER_S);
    expect(answer.text).not.toContain(SECRET);
    expect(runtime.requests[0]?.temperature).toBe(0);
    expect(await marketState(orchestrator)).toBe("verified");

    const rewards = (await call(orchestrator, "GET", "/api/workers/test-worker/rewards")).body;
    expect(rewards.pending).toBe("0");
    expect(rewards.entries[0]).toMatchObject({ payable: false, reward_raw: "0" });
    expect(rewards.entries[0].reason).toContain("verification");
  });

  test("a later failed verification takes verified away", async () => {
    const orchestrator = await serve();
    const runtime = new CannedRuntime({ text: DAYS, tokens: 16 });
    await workerOnline(orchestrator, runtime);
    await publishOffer(orchestrator);
    expect((await verify(orchestrator)).body.passed).toBe(true);
    runtime.answer = { text: DAYS, tokens: 16, fail: true };
    const failed = await verify(orchestrator);
    expect(failed.body).toMatchObject({ passed: false, reasons: ["worker_failed"] });
    expect(await marketState(orchestrator)).toBe("self_reported");
  });

  test("an incoherent answer does not pass", async () => {
    const orchestrator = await serve();
    await workerOnline(orchestrator, new CannedRuntime({ text: "#### !!!! ####", tokens: 8 }));
    const answer = await verify(orchestrator);
    expect(answer.body).toMatchObject({ passed: false, reasons: ["incoherent_output"] });
    expect(answer.body.message).toContain("does not read as text");
  });

  test("the echo simulator never passes, and the answer says why", async () => {
    const orchestrator = await serve();
    await workerOnline(orchestrator);
    const answer = await verify(orchestrator);
    expect(answer.body.passed).toBe(false);
    expect(answer.body.reasons).toContain("simulator");
    expect(answer.body.message).toContain("echo simulator never passes");
  });

  test("a dev-mode orchestrator never passes a real runtime either", async () => {
    const orchestrator = await serve({ policy: {} });
    await workerOnline(orchestrator, new CannedRuntime({ text: DAYS, tokens: 16 }), { BASIS_WORKER_AUTH_KEY: "" });
    const answer = await verify(orchestrator);
    expect(answer.body.passed).toBe(false);
    expect(answer.body.reasons).toEqual(["dev_mode"]);
    expect(answer.body.message).toContain("dev-mode orchestrator");
  });
});

describe("judgeVerification", () => {
  const CASES: [string, Parameters<typeof judgeVerification>[0], boolean, string[]][] = [
    ["passes a payable, coherent answer at speed", { verdictReasons: [], text: DAYS, completionTokens: 16, latencyMs: 800 }, true, []],
    ["passes exactly at the throughput floor", { verdictReasons: [], text: DAYS, completionTokens: 2, latencyMs: 2000 }, true, []],
    ["fails below the throughput floor", { verdictReasons: [], text: DAYS, completionTokens: 2, latencyMs: 2001 }, false, ["below_throughput_floor"]],
    ["keeps the anti-cheat reasons", { verdictReasons: ["simulator", "dev_mode"], text: DAYS, completionTokens: 16, latencyMs: 800 }, false, ["simulator", "dev_mode"]],
    ["fails repeated characters", { verdictReasons: [], text: "aaaaaaaaaaaa", completionTokens: 12, latencyMs: 800 }, false, ["incoherent_output"]],
  ];
  for (const [behaviour, evidence, passed, reasons] of CASES) {
    test(behaviour, () => {
      const verdict = judgeVerification(evidence);
      expect(verdict.passed).toBe(passed);
      expect(verdict.reasons).toEqual(reasons);
    });
  }

  test("reports tokens per second rounded to hundredths", () => {
    expect(judgeVerification({ verdictReasons: [], text: DAYS, completionTokens: 10, latencyMs: 3000 }).tokensPerSecond).toBe(3.33);
  });
});

describe("looksCoherent", () => {
  const CASES: [string, boolean][] = [
    [DAYS, true],
    ["Lundi, mardi, mercredi", true],
    ["", false],
    ["12345 67890", false],
    ["\u0000\u0001\u0002ab\u0003\u0004", false],
    ["zzzz zzzz", false],
  ];
  for (const [text, coherent] of CASES) {
    test(`${coherent ? "accepts" : "refuses"} ${JSON.stringify(text.slice(0, 20))}`, () => {
      expect(looksCoherent(text)).toBe(coherent);
    });
  }
});
