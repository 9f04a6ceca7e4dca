/**
 * End-to-end helpers for the operator commands: the compiled binary, a real reference API on
 * 127.0.0.1:0 (restartable on the same data dir), a per-test state folder, and the checks every
 * run shares (no secret-looking value in the output).
 */
import { expect } from "bun:test";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, type RunResult, WORKER_BIN } from "../helpers/binaries.ts";
import { startTestOrchestrator } from "../helpers/harness.ts";

export { WORKER_BIN };
export const WALLET = "0x52908400098527886e0f7030069857d2e4169ee7";
export const OTHER_WALLET = "0xde709f2102306220921060314715629080e2fb77";
export const KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
export const PHRASE_12 = "legal winner thank year wave sausage worth useful legal winner thank yellow";
export const PHRASE_24 = `${PHRASE_12} ${PHRASE_12}`;

/** A temp folder per test file, also used as XDG_STATE_HOME so pid files never touch the real home. */
export function makeScratch(prefix: string): { dir: string; env: Record<string, string>; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `basis-cli-${prefix}-`));
  return { dir, env: { XDG_STATE_HOME: join(dir, "state") }, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function worker(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<RunResult> {
  return run([WORKER_BIN, ...args], env, timeoutMs);
}

/** Any 64-hex run or seed-phrase-shaped text in the output fails the test. */
export function expectNoSecrets(result: RunResult): void {
  const all = `${result.stdout}\n${result.stderr}`;
  expect(all).not.toMatch(/[0-9a-fA-F]{64}/);
  expect(all).not.toContain("sausage");
  expect(all).not.toMatch(/earn now|passive income|\byield\b|\bAPY\b|guaranteed|risk-free/i);
}

export interface ServedApi {
  url: string;
  wsUrl: string;
  stop(): Promise<void>;
}

/**
 * The reference API and orchestrator on 127.0.0.1:0, in dev mode (no worker auth), with its
 * SQLite store in dataDir: stopping and serving again on the same dir is a real restart.
 * In-process rather than `basis-canary serve`, which today also runs the canary (see report).
 */
export async function serveApi(dataDir: string): Promise<ServedApi> {
  const orchestrator = await startTestOrchestrator({ dataDir });
  return {
    url: orchestrator.url,
    wsUrl: orchestrator.url.replace(/^http/, "ws"),
    stop: () => orchestrator.close(),
  };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

export async function waitFor<T>(what: string, ms: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function isOnline(api: { url: string }, workerId: string): Promise<boolean | undefined> {
  const res = await fetch(`${api.url}/api/workers/${workerId}`).catch(() => undefined);
  if (!res || res.status !== 200) return undefined;
  return ((await res.json()) as { worker: { online: boolean } }).worker.online;
}
