/**
 * The pieces a benchmark starts: the compiled orchestrator (`basis-canary serve`), compiled
 * workers (`basis-worker start`), the fake OpenAI-compatible backend and the load generator,
 * each in its own process, with throwaway secrets so the real token checks run.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { LoadPhase, LoadTarget, PhaseResult } from "./load-gen.ts";
import { type BenchChild, type ChildGroup, lastLines, track, waitForFile } from "./processes.ts";

export interface BenchSecrets {
  dispatch: string;
  authKey: string;
}

export interface BenchContext {
  group: ChildGroup;
  tmp: string;
  workerBin: string;
  canaryBin: string;
  secrets: BenchSecrets;
  log(message: string): void;
}

export interface RunningOrchestrator {
  child: BenchChild;
  httpUrl: string;
  wsUrl: string;
}

export interface RunningWorker {
  child: BenchChild;
  /** Spawn to the worker's "connected" log line, which it prints once the orchestrator welcomed it. */
  connectedMs: number;
}

export interface WorkerSpec {
  id: string;
  runtime: "echo" | "openai" | "llamacpp";
  concurrency: number;
  backendUrl?: string;
  backendModel?: string;
}

export const BENCH_WALLET = "0x00000000000000000000000000000000000be7c4";
const BUN = process.execPath;
const HERE = import.meta.dir;
let serial = 0;

/** With a database URL the orchestrator keeps its store in PostgreSQL and joins the others on it. */
export async function startOrchestrator(ctx: BenchContext, databaseUrl?: string): Promise<RunningOrchestrator> {
  const dir = join(ctx.tmp, `orchestrator-${++serial}`);
  mkdirSync(dir, { recursive: true });
  const portFile = join(dir, "port");
  const store = databaseUrl ? [] : ["--data", join(dir, "data")];
  const child = ctx.group.spawn("orchestrator", [ctx.canaryBin, "serve", "--host", "127.0.0.1", "--port", "0", "--port-file", portFile, ...store], {
    BASIS_ORCHESTRATOR_SECRET: ctx.secrets.dispatch,
    BASIS_WORKER_AUTH_KEY: ctx.secrets.authKey,
    ...(databaseUrl ? { BASIS_STORE_DRIVER: "postgres", BASIS_DATABASE_URL: databaseUrl } : {}),
  });
  const port = await waitForFile(portFile, child, 15_000);
  return { child, httpUrl: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}` };
}

export function workerEnv(orchestrator: RunningOrchestrator, spec: WorkerSpec, secrets: BenchSecrets): Record<string, string | undefined> {
  return {
    BASIS_WORKER_WALLET: BENCH_WALLET,
    BASIS_WORKER_ID: spec.id,
    BASIS_WORKER_RUNTIME: spec.runtime,
    BASIS_WORKER_CONCURRENCY: String(spec.concurrency),
    BASIS_ORCHESTRATOR_URL: orchestrator.wsUrl,
    BASIS_WORKER_AUTH_KEY: secrets.authKey,
    ...(spec.runtime === "llamacpp"
      ? { BASIS_LLAMACPP_URL: spec.backendUrl, BASIS_LLAMACPP_MODEL: spec.backendModel }
      : { BASIS_OPENAI_URL: spec.backendUrl, BASIS_OPENAI_MODEL: spec.backendModel }),
    BASIS_WORKER_MODELS: spec.backendModel,
  };
}

/** Starts a worker and waits until it is online; throws with the worker's last lines if it exits. */
export async function startWorker(ctx: BenchContext, orchestrator: RunningOrchestrator, spec: WorkerSpec): Promise<RunningWorker> {
  const started = performance.now();
  // A state folder of the run's own: two runs on one host must not meet in each other's pid files.
  const env = { ...workerEnv(orchestrator, spec, ctx.secrets), XDG_STATE_HOME: join(ctx.tmp, "state") };
  const child = ctx.group.spawn(`worker ${spec.id}`, [ctx.workerBin, "start"], env);
  const line = await child.waitForLine(/connected: worker/, 20_000);
  const connectedMs = performance.now() - started;
  if (!line) {
    await ctx.group.stop(child);
    throw new Error(`worker ${spec.id} did not connect: ${lastLines(child.output())}`);
  }
  return { child, connectedMs };
}

export interface RunningFake {
  child: BenchChild;
  url: string;
}

export async function startFakeBackend(ctx: BenchContext): Promise<RunningFake> {
  const portFile = join(ctx.tmp, `fake-${++serial}.port`);
  const child = ctx.group.spawn("fake-openai", [BUN, join(HERE, "fake-openai.ts"), "--port-file", portFile]);
  const port = await waitForFile(portFile, child, 15_000);
  return { child, url: `http://127.0.0.1:${port}` };
}

export function chatBody(model: string, maxTokens: number, stream: boolean): string {
  return JSON.stringify({
    model,
    messages: [{ role: "user", content: "ping" }],
    max_tokens: maxTokens,
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}

export function dispatchTarget(orchestrator: RunningOrchestrator, secrets: BenchSecrets, body: string): LoadTarget {
  return { url: `${orchestrator.httpUrl}/v1/dispatch`, headers: { authorization: `Bearer ${secrets.dispatch}`, "content-type": "application/json" }, body };
}

export function directTarget(fake: RunningFake, body: string): LoadTarget {
  return { url: `${fake.url}/v1/chat/completions`, headers: { "content-type": "application/json" }, body };
}

/** Runs a plan in a fresh load-generator process and returns its raw results. */
export async function runLoad(ctx: BenchContext, plan: LoadPhase[]): Promise<PhaseResult[]> {
  const planPath = join(ctx.tmp, `plan-${++serial}.json`);
  await Bun.write(planPath, JSON.stringify(plan));
  const proc = track(Bun.spawn([BUN, join(HERE, "load-gen.ts"), planPath], { stdin: "ignore", stdout: "pipe", stderr: "pipe" }));
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`the load generator failed (exit ${code}): ${lastLines(err)}`);
  return JSON.parse(out) as PhaseResult[];
}

/** All results with this label, merged: alternating rounds share a label per side. */
export function mergeLabel(results: readonly PhaseResult[], label: string): { latencies: number[]; ok: number; errors: number; errorSample?: string } {
  const mine = results.filter((r) => r.label === label);
  const errorSample = mine.find((r) => r.errorSample)?.errorSample;
  return {
    latencies: mine.flatMap((r) => r.latencies),
    ok: mine.reduce((n, r) => n + r.ok, 0),
    errors: mine.reduce((n, r) => n + r.errors, 0),
    ...(errorSample ? { errorSample } : {}),
  };
}
