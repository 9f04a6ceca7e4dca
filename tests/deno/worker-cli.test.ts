/**
 * The worker CLI's sources under Deno (node_modules/.bin/deno, from the npm registry), against a
 * real reference API on 127.0.0.1 port 0: --version, setup --check --json, register, status,
 * price publish --dry-run, and start itself (serves a job, drains on SIGTERM). `make deno-check`
 * runs this file alone.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Orchestrator } from "../../lib/orchestrator/server.ts";
import { ROOT, run } from "../helpers/binaries.ts";
import { dispatch, startTestOrchestrator, waitUntil } from "../helpers/harness.ts";

const DENO = join(ROOT, "node_modules", ".bin", "deno");
const ENTRY = join(ROOT, "bin", "basis-worker.ts");
const WALLET = "0x52908400098527886E0F7030069857D2E4169EE7";
const WORKER_ID = "deno-check-1";

function deno(args: string[], env: Record<string, string> = {}) {
  return run([DENO, "run", "-A", ENTRY, ...args], { DENO_NO_UPDATE_CHECK: "1", ...env }, 60_000);
}

async function listCommands(args: string[]): Promise<Set<string>> {
  const help = await deno([...args, "--help"]);
  const section = help.stdout.split(/^COMMANDS$/m)[1] ?? "";
  return new Set([...section.matchAll(/^\s+([a-z][a-z-]*)\s{2,}/gm)].map((m) => m[1] as string));
}

if (!existsSync(DENO)) throw new Error(`${DENO} is missing: run npm ci (deno is a devDependency)`);
const commands = await listCommands([]);
const priceCommands = commands.has("price") ? await listCommands(["price"]) : new Set<string>();

let api: Orchestrator;
beforeAll(async () => {
  api = await startTestOrchestrator();
});
afterAll(async () => {
  await api.close();
});

describe("basis-worker under Deno", () => {
  test("prints its version line", async () => {
    const result = await deno(["--version"]);
    expect(result).toMatchObject({ code: 0, stdout: "basis-worker 0.1.0 (commit dev, target source)\n" });
  });

  test("refuses the canary, which needs Bun, with a clear error", async () => {
    const result = await deno(["canary"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("canary_needs_bun");
  });

  test("lists its commands in --help", () => {
    for (const name of ["setup", "register", "start", "status", "healthcheck", "stop", "price", "service"]) expect(commands.has(name)).toBe(true);
    expect(priceCommands.has("publish")).toBe(true);
  });

  test("setup --check --json reports the host", async () => {
    const result = await deno(["setup", "--check", "--json"]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(report).toHaveProperty("os");
    expect(report).toHaveProperty("arch");
    expect(Array.isArray(report.gpus)).toBe(true);
  });

  test("register posts to the reference API", async () => {
    const result = await deno(["register", "--wallet", WALLET, "--worker-id", WORKER_ID, "--base", api.url, "--json"]);
    expect([result.code, result.stderr]).toEqual([0, ""]);
    expect(JSON.stringify(JSON.parse(result.stdout))).toContain(WORKER_ID);
  });

  test("status reads the registered worker back", async () => {
    await deno(["register", "--wallet", WALLET, "--worker-id", WORKER_ID, "--base", api.url, "--json"]);
    const result = await deno(["status", "--worker-id", WORKER_ID, "--base", api.url, "--json"]);
    expect(result.code).toBe(0);
    expect(JSON.stringify(JSON.parse(result.stdout))).toContain(WORKER_ID);
  });

  test("price publish --dry-run signs and posts nothing", async () => {
    // A throwaway key made for this run only; it never leaves the child's environment.
    const key = `0x${randomBytes(32).toString("hex")}`;
    const result = await deno(
      ["price", "publish", "--worker-id", WORKER_ID, "--prices", join(ROOT, "templates", "prices.example.json"), "--key-env", "BASIS_WORKER_PRIVATE_KEY", "--dry-run", "--base", api.url, "--json"],
      { BASIS_WORKER_PRIVATE_KEY: key },
    );
    expect(result.code).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(key.slice(2));
    expect((JSON.parse(result.stdout) as { posted?: unknown }).posted).toBe(false);
  });

  test("start serves a dispatched job and drains on SIGTERM", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "basis-deno-state-"));
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BASIS_"))) as Record<string, string>;
    const proc = Bun.spawn([DENO, "run", "-A", ENTRY, "start"], {
      env: {
        ...base,
        DENO_NO_UPDATE_CHECK: "1",
        NO_COLOR: "1",
        XDG_STATE_HOME: stateDir,
        BASIS_WORKER_WALLET: WALLET,
        BASIS_WORKER_ID: "deno-start-1",
        BASIS_ORCHESTRATOR_URL: api.url.replace("http", "ws"),
      },
      stdout: "ignore",
      stderr: "pipe",
    });
    await waitUntil("the Deno worker online", () => api.registry.get("deno-start-1") !== undefined, 30_000);
    const res = await dispatch(api, { model: "basis-default", messages: [{ role: "user", content: "hello from deno" }] });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toContain("hello from deno");
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(await new Response(proc.stderr).text()).toContain("stopped cleanly");
    rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);
});
