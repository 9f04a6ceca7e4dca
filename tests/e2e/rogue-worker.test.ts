/**
 * A rogue worker with a valid token against the COMPILED orchestrator (`basis-canary serve`):
 * whatever it sends, the process stays up, honest dispatches keep succeeding, nothing of the
 * rogue's is payable, and the ledger holds no claim above the usage bounds.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { io, type Socket } from "socket.io-client";
import { type ChatMessage, EVENTS, type JobAssign, PROTOCOL_VERSION } from "../../lib/core/protocol.ts";
import { followSpotCheck } from "../../lib/core/spot-check.ts";
import { chargeForUsage } from "../../lib/core/rewards.ts";
import { handshakeAuth } from "../../lib/core/token.ts";
import { usageBounds } from "../../lib/core/usage-bounds.ts";
import { readWorkerConfig } from "../../lib/core/worker-config.ts";
import { OllamaRuntime } from "../../lib/worker/runtimes/ollama.ts";
import { Worker } from "../../lib/worker/worker.ts";
import { type FakeOllama, startFakeOllama } from "../fakes/fake-ollama.ts";
import { CANARY_BIN, requireBinaries } from "../helpers/binaries.ts";
import { quietLog, waitUntil } from "../helpers/harness.ts";

requireBinaries();

const HONEST_TOKEN = "honest-worker-token-0123456789";
const ROGUE_TOKEN = "rogue-worker-token-0123456789";
const HONEST_WALLET = "0x52908400098527886e0f7030069857d2e4169ee7";
const ROGUE_WALLET = "0x2222222222222222222222222222222222222222";
const MODEL = "llama3.2";
const MAX_TOKENS = 32;
const messages = [{ role: "user", content: "Say something short about rivers." }];

let dir = "";
let base = "";
let proc: ReturnType<typeof Bun.spawn> | undefined;
let output = "";
let fake: FakeOllama | undefined;
const honest: Worker[] = [];
const rogues: Socket[] = [];

async function collect(stream: ReadableStream<Uint8Array>): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "basis-rogue-"));
  const portFile = join(dir, "port");
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BASIS_"))) as Record<string, string>;
  proc = Bun.spawn([CANARY_BIN, "serve", "--port", "0", "--port-file", portFile], {
    env: {
      ...env,
      NO_COLOR: "1",
      BASIS_WORKER_TOKENS: `${HONEST_TOKEN},${ROGUE_TOKEN}`,
      BASIS_JOB_TIMEOUT_MS: "20000",
      BASIS_FIRST_TOKEN_TIMEOUT_MS: "1000",
      // The first spot check comes 0.25 to 1 s after a worker connects.
      BASIS_SPOT_CHECK_INTERVAL_MS: "1000",
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  void collect(proc.stdout as ReadableStream<Uint8Array>);
  void collect(proc.stderr as ReadableStream<Uint8Array>);
  await waitUntil("the port file", () => existsSync(portFile), 10_000);
  base = `http://127.0.0.1:${readFileSync(portFile, "utf8").trim()}`;
  fake = startFakeOllama({ models: { [MODEL]: { tokens: ["Rivers", " carry", " water", " to", " the", " sea", "."], promptTokens: 14, tokenDelayMs: 2 } } });
  for (const id of ["honest-1", "honest-2"]) honest.push(await startHonest(id));
  await waitUntil("honest workers online", async () => (await health()).workersOnline === 2, 10_000);
  // Capacity is earned: a few rounds of completions lift both honest workers to what they advertise.
  for (let round = 0; round < 6; round++) {
    const answers = await Promise.all(Array.from({ length: 2 * 2 ** round }, () => dispatch(MODEL)));
    if (answers.some((a) => a.status !== 200)) break;
  }
}, 60_000);

afterAll(async () => {
  if (process.env.ROGUE_DEBUG) console.error(output);
  for (const rogue of rogues) rogue.disconnect();
  for (const worker of honest) await worker.drain();
  proc?.kill("SIGTERM");
  await proc?.exited;
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function startHonest(id: string): Promise<Worker> {
  const config = readWorkerConfig(
    {
      BASIS_WORKER_WALLET: HONEST_WALLET,
      BASIS_WORKER_ID: id,
      BASIS_WORKER_RUNTIME: "ollama",
      BASIS_OLLAMA_URL: fake!.url,
      BASIS_OLLAMA_MODEL: MODEL,
      BASIS_WORKER_CONCURRENCY: "16",
      BASIS_ORCHESTRATOR_URL: base.replace("http", "ws"),
    },
    "test-host",
  );
  const runtime = new OllamaRuntime({ baseUrl: fake!.url, model: MODEL, advertised: config.models });
  const worker = new Worker({ config, runtime, token: HONEST_TOKEN, log: quietLog, connect: (url, opts) => io(url, opts), version: "test" });
  worker.start().catch(() => {});
  return worker;
}

async function health(): Promise<{ ok: boolean; workersOnline: number }> {
  return (await (await fetch(`${base}/healthz`)).json()) as { ok: boolean; workersOnline: number };
}

function dispatch(model: string, extra: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${base}/v1/dispatch`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages, max_tokens: MAX_TOKENS, ...extra }),
  });
}

type Behaviour = (socket: Socket, job: JobAssign) => void;

/** A raw Socket.io client holding a valid token; `behaviour` decides what it does with each job. */
/** Each rogue serves a model named after itself, so a dispatch for that model must land on it. */
async function startRogue(id: string, behaviour: Behaviour, models = [id], concurrency = 4): Promise<Socket> {
  const handshake = { protocol: PROTOCOL_VERSION, worker_id: id, worker_wallet: ROGUE_WALLET, runtime: "ollama", models, concurrency };
  const socket: Socket = io(base, { transports: ["websocket"], reconnection: false, auth: handshakeAuth(handshake, ROGUE_TOKEN, () => socket.io.engine?.id) });
  rogues.push(socket);
  socket.on(EVENTS.assign, (job: JobAssign, ack: (answer: unknown) => void) => {
    ack({ accepted: true });
    behaviour(socket, job);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once(EVENTS.welcome, () => resolve());
    socket.once("connect_error", reject);
  });
  return socket;
}

/** The orchestrator is alive and an honest dispatch still succeeds, payable. */
async function honestStillServed(): Promise<void> {
  expect((await health()).ok).toBe(true);
  const res = await dispatch(MODEL);
  expect(res.status).toBe(200);
  expect(res.headers.get("x-basis-payable")).toBe("true");
  expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe("Rivers carry water to the sea.");
}

test("honest workers pass their spot checks and never read unverified", async () => {
  // Each honest worker's backend has answered at least one spot check by now.
  const checked = () => fake!.requests.filter((r) => followSpotCheck((r.body as { messages?: ChatMessage[] })?.messages ?? []) !== undefined).length;
  await waitUntil("spot checks answered", () => checked() >= 2, 10_000);
  expect(output).not.toContain("worker honest-1 failed a spot check");
  expect(output).not.toContain("worker honest-2 failed a spot check");
});

interface LedgerEntry {
  job_id: string;
  state: string;
  payable: boolean;
  charged_raw: string;
  reward_raw: string;
  reason: string | null;
}

async function ledger(id: string): Promise<LedgerEntry[]> {
  const res = await fetch(`${base}/api/workers/${id}/rewards?limit=500`);
  if (res.status === 404) return [];
  return ((await res.json()) as { entries: LedgerEntry[] }).entries;
}

/** The most any job of this suite can be charged: its request's usage bounds with all text capped. */
function maxCharge(): bigint {
  const bounds = usageBounds({ model: MODEL, messages: messages as never, max_tokens: MAX_TOKENS }, []);
  return chargeForUsage(bounds.prompt_tokens, MAX_TOKENS);
}

describe("a rogue worker against the compiled orchestrator", () => {
  test("huge numbers in usage fail the job, never the process", async () => {
    await startRogue("rogue-numbers", (socket, job) => {
      socket.emit(EVENTS.done, { job_id: job.job_id, text: "ok", finish_reason: "stop", usage: { prompt_tokens: 1e300, completion_tokens: 1 }, elapsed_ms: 5 });
    });
    const res = await dispatch("rogue-numbers");
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { code: "worker_failed", worker_error: "invalid_payload" } });
    await honestStillServed();
  });

  test("usage beyond the text is held to the bounds and not payable", async () => {
    await startRogue("rogue-usage", (socket, job) => {
      socket.emit(EVENTS.chunk, { job_id: job.job_id, delta: "x" });
      socket.emit(EVENTS.done, { job_id: job.job_id, text: "x", finish_reason: "stop", usage: { prompt_tokens: 2 ** 31 - 1, completion_tokens: 16 }, elapsed_ms: 500 });
    });
    const res = await dispatch("rogue-usage");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-basis-payable")).toBe("false");
    const body = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    // The client sees the bounded usage too: 1 byte of text + the 8-token allowance.
    expect(body.usage.completion_tokens).toBe(9);
    const entries = await ledger("rogue-usage");
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ payable: false, reward_raw: "0" });
    expect(entries[0]!.reason).toContain("usage_inconsistent");
    await honestStillServed();
  });

  test("schema-failing payloads on every event are dropped; the rogue is cut off past the violation limit", async () => {
    const junk: unknown[] = [null, 7, "text", [1, 2], { job_id: 5 }, { job_id: "x".repeat(100) }, { nested: { deep: [{}] } }, { job_id: "j", delta: 1 }];
    const rogue = await startRogue("rogue-junk", () => {});
    const gone = new Promise<void>((resolve) => rogue.once("disconnect", () => resolve()));
    for (let i = 0; i < 4; i++) {
      for (const payload of junk) for (const event of [EVENTS.status, EVENTS.chunk, EVENTS.done, EVENTS.fail, EVENTS.started, "unknown:event"]) rogue.emit(event, payload);
    }
    await gone;
    await waitUntil("the reason logged", () => output.includes("disconnecting worker rogue-junk: protocol_violations"));
    await honestStillServed();
  });

  test("answers for another worker's job are ignored", async () => {
    const thief = await startRogue("rogue-thief", () => {});
    // A slow honest answer, streamed, so its job id is known while it runs.
    const res = await fetch(`${base}/v1/dispatch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages, max_tokens: MAX_TOKENS, stream: true }),
    });
    const jobId = res.headers.get("x-basis-job-id") as string;
    thief.emit(EVENTS.done, { job_id: jobId, text: "stolen", finish_reason: "stop", usage: { prompt_tokens: 1, completion_tokens: 1 }, elapsed_ms: 1 });
    thief.emit(EVENTS.fail, { job_id: jobId, code: "boom", message: "sabotage" });
    const body = await res.text();
    expect(body).toContain("Rivers");
    expect(body).not.toContain("stolen");
    expect(body).not.toContain("sabotage");
    expect(await ledger("rogue-thief")).toEqual([]);
  });

  test("a double job:done is counted once, and a rogue that fails its spot check is paid nothing", async () => {
    await startRogue("rogue-double", (socket, job) => {
      const done = { job_id: job.job_id, text: "Hello there.", finish_reason: "stop", usage: { prompt_tokens: 9, completion_tokens: 3 }, elapsed_ms: 900 };
      socket.emit(EVENTS.chunk, { job_id: job.job_id, delta: done.text });
      socket.emit(EVENTS.done, done);
      socket.emit(EVENTS.done, { ...done, usage: { prompt_tokens: 9, completion_tokens: 30 } });
    });
    // Its canned answer fails the hidden check that comes soon after it connects.
    await waitUntil("the spot check failed", () => output.includes("worker rogue-double failed a spot check (missing_words)"));
    // The failed check also cooled it down (503 meanwhile, which writes no ledger line).
    let res: Response | undefined;
    await waitUntil("its cooldown over", async () => (res = await dispatch("rogue-double")).status !== 503, 10_000);
    res = res as Response;
    expect(res.status).toBe(200);
    expect(res.headers.get("x-basis-payable")).toBe("false");
    expect(res.status).toBe(200);
    await res.text();
    await honestStillServed();
    const lines = await ledger("rogue-double");
    expect(lines).toHaveLength(1);
    expect(lines[0]!.reason).toContain("failed_spot_check");
  });

  test("oversized text fails the job with 502 and goes no further", async () => {
    await startRogue("rogue-big", (socket, job) => {
      // max_tokens 32 caps this job's text at 32 x 64 + 4096 = 6144 bytes.
      const piece = "y".repeat(2_000);
      for (let i = 0; i < 20; i++) socket.emit(EVENTS.chunk, { job_id: job.job_id, delta: piece });
    });
    const res = await dispatch("rogue-big", { stream: true });
    const text = await res.text();
    expect(text).toContain("The worker sent more than 6144 bytes of text for this job.");
    expect(text).not.toContain("finish_reason\":\"stop");
    expect(text.length).toBeLessThan(20_000);
    await honestStillServed();
  });

  test("a chunk past the schema's size bound fails the job it names", async () => {
    await startRogue("rogue-huge-chunk", (socket, job) => {
      for (let i = 0; i < 5; i++) socket.emit(EVENTS.chunk, { job_id: job.job_id, delta: "z".repeat(1_500_000) });
    });
    const res = await dispatch("rogue-huge-chunk");
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { worker_error: "invalid_payload" } });
    await honestStillServed();
  });

  test("a takeover mid-job fails the old session's job at once (502, not payable)", async () => {
    let accepted = 0;
    // Counts the client's job only (a spot check may come too).
    await startRogue("rogue-takeover", (_socket, job) => {
      if (job.request.messages[0]?.content === messages[0]!.content) accepted++;
    });
    const pending = dispatch("rogue-takeover");
    await waitUntil("the job accepted", () => accepted === 1);
    await startRogue("rogue-takeover", () => {});
    const res = await pending;
    // Failed by the takeover itself, not by the 20 s job timeout (that would be a 504).
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { code: "worker_failed", worker_error: "session_replaced" } });
    await honestStillServed();
  });

  test("a flood of events is throttled, then the connection is ended with a logged reason", async () => {
    const rogue = await startRogue("rogue-flood", () => {});
    const gone = new Promise<void>((resolve) => rogue.once("disconnect", () => resolve()));
    const status = { available: true, draining: false, active: 0 };
    for (let i = 0; i < 3_000 && rogue.connected; i++) rogue.emit(EVENTS.status, status);
    await gone;
    await waitUntil("the reason logged", () => output.includes("disconnecting worker rogue-flood: event_flood"));
    await honestStillServed();
  });

  test("a worker that never acks an offer is cooled down after one ack timeout: honest workers serve the rest", async () => {
    const mute = await startRogue("rogue-mute", () => {}, [MODEL], 64);
    let offers = 0;
    mute.off(EVENTS.assign);
    // Counts the clients' offers only (a spot check may come too, and is not acked either).
    mute.on(EVENTS.assign, (job: JobAssign) => {
      if (job.request.messages[0]?.content === messages[0]!.content) offers++;
    });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await dispatch(MODEL)).status);
    expect(statuses).toEqual(Array(8).fill(200));
    // Offered at most once (a spot check may have found it mute first): it cost at most one client
    // the ack timeout, and cooling down since, it was offered no more.
    expect(offers).toBeLessThanOrEqual(1);
    await waitUntil("the setback logged", () => output.includes("worker rogue-mute: no_ack"));
    mute.disconnect();
  }, 20_000);

  test("a black hole takes no traffic from honest dispatches: at least 22 of 24 succeed beside it", async () => {
    await startRogue("rogue-hole", () => {}, [MODEL], 1024);
    const answers = await Promise.all(Array.from({ length: 24 }, () => dispatch(MODEL)));
    const ok = answers.filter((a) => a.status === 200).length;
    expect(ok).toBeGreaterThanOrEqual(22);
    for (const entry of await ledger("rogue-hole")) expect(entry.payable).toBe(false);
    await waitUntil("the setback logged", () => output.includes("worker rogue-hole: no_first_token"));
  }, 30_000);

  test("a handshake captured on the wire and replayed from another connection is refused", async () => {
    // What an eavesdropper sees: the auth object one real connection sent.
    let captured: Record<string, unknown> | undefined;
    const handshake = { protocol: PROTOCOL_VERSION, worker_id: "rogue-replayed", worker_wallet: ROGUE_WALLET, runtime: "ollama", models: ["x"], concurrency: 1 };
    const sign = handshakeAuth(handshake, ROGUE_TOKEN, () => original.io.engine?.id);
    const original: Socket = io(base, {
      transports: ["websocket"],
      reconnection: false,
      auth: (callback: (auth: Record<string, unknown>) => void) => sign((auth) => callback((captured = auth))),
    });
    rogues.push(original);
    await new Promise<void>((resolve) => original.once(EVENTS.welcome, () => resolve()));
    expect(JSON.stringify(captured)).not.toContain(ROGUE_TOKEN);
    const refusal = (auth: Record<string, unknown>) =>
      new Promise<string>((resolve) => {
        const replay = io(base, { transports: ["websocket"], reconnection: false, auth });
        rogues.push(replay);
        replay.once("connect_error", (error) => resolve(error.message));
        replay.once("connect", () => resolve("accepted"));
      });
    expect(await refusal(captured!)).toBe("token_invalid");
    // The token itself in clear, as older workers sent it, is refused too.
    const { proof: _proof, ...clear } = captured!;
    expect(await refusal({ ...clear, token: ROGUE_TOKEN })).toBe("handshake_proof_missing");
    // The genuine connection is untouched.
    expect(original.connected).toBe(true);
    await honestStillServed();
  });

  test("the process is up, and the ledger holds nothing payable of the rogue's and no claim above the bounds", async () => {
    expect(proc?.exitCode).toBeNull();
    const ids = ["rogue-numbers", "rogue-usage", "rogue-junk", "rogue-thief", "rogue-double", "rogue-big", "rogue-huge-chunk", "rogue-takeover", "rogue-flood", "rogue-hole"];
    for (const id of ids) {
      for (const entry of await ledger(id)) {
        expect(BigInt(entry.charged_raw)).toBeLessThanOrEqual(maxCharge());
        expect(entry.reward_raw).toBe("0");
      }
    }
  });
});
