/**
 * The canary: a real orchestrator and a real echo worker, with throwaway secrets and a
 * throwaway wallet, proving the orchestrator <-> worker <-> /v1/dispatch path, one line a proof.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import * as v from "valibot";
import { API_PATHS, ChatCompletionSchema, DISPATCH_HEADERS, workerPath } from "../core/api-contract.ts";
import { composeEchoAnswer } from "../core/echo.ts";
import { deriveWalletToken } from "../core/token.ts";
import { type Child, ProcessGroup, waitExit } from "./processes.ts";

export interface CanaryOptions {
  /** argv prefix that runs basis-canary (for `serve`). */
  canaryCommand: string[];
  /** argv prefix that runs basis-worker. */
  workerCommand: string[];
  /** Called as each proof finishes. */
  onProof?: (proof: ProofResult, index: number) => void;
  timeoutMs?: number;
}

export interface ProofResult {
  name: string;
  ok: boolean;
  ms: number;
  detail: string;
}

export interface CanaryReport {
  passed: number;
  failed: number;
  wall_ms: number;
  proofs: ProofResult[];
}

const PROOFS = [
  "dispatch with no worker answers 404 model_not_found",
  "a worker with a wrong token is refused and never shows online",
  "an authenticated echo worker connects and shows online",
  "a dispatched job returns 200 with the echo answer and x-basis-* headers",
  "SIGTERM stops the worker cleanly (exit 0) and it shows offline",
] as const;

class ProofFailure extends Error {}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ProofFailure(message);
}

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new ProofFailure(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function runCanary(options: CanaryOptions): Promise<CanaryReport> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 15_000;
  const dir = await mkdtemp(join(tmpdir(), "basis-canary-"));
  const secret = randomBytes(32).toString("hex");
  const authKey = randomBytes(32).toString("hex");
  const wallet = `0x${randomBytes(20).toString("hex")}`;
  const workerId = `canary-${randomBytes(4).toString("hex")}`;
  const group = new ProcessGroup([secret, authKey]);
  const proofs: ProofResult[] = [];
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BASIS_") && k !== "PORT"));
  let base = "";
  let worker: Child | undefined;

  const prove = async (index: number, body: () => Promise<string>) => {
    const t = performance.now();
    let result: ProofResult;
    try {
      result = { name: PROOFS[index] as string, ok: true, ms: 0, detail: await body() };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      result = { name: PROOFS[index] as string, ok: false, ms: 0, detail: message };
    }
    result.ms = Math.round(performance.now() - t);
    proofs.push(result);
    options.onProof?.(result, index);
    return result.ok;
  };
  const dispatch = (model = "basis-default") =>
    fetch(`${base}${API_PATHS.dispatch}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "canary: say something short" }], max_tokens: 64 }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  const workerRecord = async () => {
    const res = await fetch(`${base}${workerPath(API_PATHS.worker, workerId)}`, { signal: AbortSignal.timeout(2_000) });
    if (res.status === 404) return { online: false, registered: false };
    const body = (await res.json()) as { worker: { online: boolean } };
    return { online: body.worker.online, registered: true };
  };
  const workerEnv = (auth: Record<string, string>) => ({
    ...cleanEnv,
    // The workers' pid files go to the canary's temp folder, never the operator's state dir.
    XDG_STATE_HOME: join(dir, "state"),
    LOCALAPPDATA: join(dir, "state"),
    BASIS_WORKER_WALLET: wallet,
    BASIS_WORKER_ID: workerId,
    BASIS_WORKER_RUNTIME: "echo",
    BASIS_WORKER_MODELS: "basis-default",
    BASIS_ORCHESTRATOR_URL: base.replace(/^http/, "ws"),
    ...auth,
  });

  // Interrupted: still leave no process and no temp file behind.
  const interrupt = () => {
    void Promise.all([group.killAll(), rm(dir, { recursive: true, force: true })]).finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  try {
    const portFile = join(dir, "port");
    const server = group.spawn(
      "orchestrator",
      [...options.canaryCommand, "serve", "--host", "127.0.0.1", "--port", "0", "--port-file", portFile, "--data", join(dir, "data")],
      { ...cleanEnv, BASIS_ORCHESTRATOR_SECRET: secret, BASIS_WORKER_AUTH_KEY: authKey },
    );
    const port = await waitFor("the orchestrator to listen", timeoutMs, async () => {
      if (server.process.exitCode !== null) throw new Error("orchestrator exited");
      const text = await readFile(portFile, "utf8").catch(() => "");
      return /^\d+$/.test(text.trim()) ? text.trim() : undefined;
    }).catch(() => {
      throw new Error(`the orchestrator did not start:\n${server.output()}`);
    });
    base = `http://127.0.0.1:${port}`;

    await prove(0, async () => {
      const res = await dispatch();
      const body = (await res.json()) as { error?: { code?: string } };
      check(res.status === 404 && body.error?.code === "model_not_found", `got ${res.status} ${JSON.stringify(body)}`);
      return "404 model_not_found";
    });

    await prove(1, async () => {
      const wrongToken = await deriveWalletToken(randomBytes(32).toString("hex"), wallet);
      const impostor = group.spawn("worker (wrong token)", options.workerCommand.concat("start"), workerEnv({ BASIS_WORKER_TOKEN: wrongToken }));
      const code = await waitExit(impostor, timeoutMs);
      check(code !== "timeout", "the worker with a wrong token kept running");
      check(code === 3, `expected exit 3 (handshake refused), got ${code}`);
      check(/token_invalid/.test(impostor.output()), "the worker did not print the refusal reason");
      const record = await workerRecord();
      check(!record.online, "the refused worker shows online");
      return "refused with token_invalid, exit 3, never online";
    });

    await prove(2, async () => {
      worker = group.spawn("worker", options.workerCommand.concat("start"), workerEnv({ BASIS_WORKER_AUTH_KEY: authKey }));
      const live = worker;
      await waitFor("the worker to show online", timeoutMs, async () => {
        if (live.process.exitCode !== null) throw new ProofFailure(`worker exited ${live.process.exitCode}`);
        return (await workerRecord()).online ? true : undefined;
      }).catch((error) => {
        throw new ProofFailure(`${(error as Error).message}\n${live.output()}`);
      });
      return `worker ${workerId} online (wallet-bound token)`;
    });

    await prove(3, async () => {
      const res = await dispatch();
      const body = (await res.json()) as { choices?: { message: { content: string } }[] };
      check(res.status === 200, `got ${res.status} ${JSON.stringify(body)}`);
      check(v.is(ChatCompletionSchema, body), "the answer is not a chat.completion as the API contract defines it");
      const expected = composeEchoAnswer([{ role: "user", content: "canary: say something short" }], 64).tokens.join("");
      check(body.choices?.[0]?.message.content === expected, "the answer is not the echo simulator's");
      check(res.headers.get(DISPATCH_HEADERS.workerId) === workerId, "x-basis-worker-id is missing or wrong");
      check(res.headers.get(DISPATCH_HEADERS.workerWallet) === wallet, "x-basis-worker-wallet is missing or wrong");
      check(res.headers.get(DISPATCH_HEADERS.payable) === "false", "x-basis-payable should be false for the simulator");
      return "200, echo answer, x-basis-worker-id/-wallet, x-basis-payable: false";
    });

    await prove(4, async () => {
      check(worker, "no worker is running");
      worker.process.kill("SIGTERM");
      const code = await waitExit(worker, timeoutMs);
      check(code === 0, `expected exit 0, got ${code}\n${worker.output()}`);
      await waitFor("the worker to show offline", timeoutMs, async () => ((await workerRecord()).online ? undefined : true));
      return "exit 0, offline";
    });
  } catch (error) {
    // A failure before a proof could run (the orchestrator did not start) fails the rest.
    for (let i = proofs.length; i < PROOFS.length; i++) {
      const result = { name: PROOFS[i] as string, ok: false, ms: 0, detail: error instanceof Error ? error.message : String(error) };
      proofs.push(result);
      options.onProof?.(result, i);
    }
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
    await group.killAll();
    await rm(dir, { recursive: true, force: true });
  }
  const passed = proofs.filter((p) => p.ok).length;
  return { passed, failed: proofs.length - passed, wall_ms: Math.round(performance.now() - started), proofs };
}
