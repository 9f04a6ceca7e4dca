/** `basis-canary serve` end to end: the compiled binary, a real port, a real data directory. */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { binaryEnv, CANARY_BIN, requireBinaries, run } from "../helpers/binaries.ts";
import { WALLET, waitUntil } from "../helpers/harness.ts";

requireBinaries();

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "basis-serve-"));
  dirs.push(dir);
  return dir;
}

/** Starts `serve --port 0` on a data directory and answers its base URL once it listens. */
async function serve(dataDir: string): Promise<{ base: string; stop: () => Promise<number> }> {
  const portFile = join(dataDir, `port-${Date.now()}`);
  const proc = Bun.spawn([CANARY_BIN, "serve", "--port", "0", "--port-file", portFile, "--data", dataDir], {
    env: binaryEnv(),
    stdout: "ignore",
    stderr: "ignore",
  });
  await waitUntil("the port file", () => existsSync(portFile), 10_000);
  return {
    base: `http://127.0.0.1:${readFileSync(portFile, "utf8").trim()}`,
    async stop() {
      proc.kill("SIGTERM");
      return await proc.exited;
    },
  };
}

describe("serveOrchestrator", () => {
  test("a worker registered before a restart of the server is still registered after it", async () => {
    const dir = tempDir();
    const first = await serve(dir);
    const created = await fetch(`${first.base}/api/workers/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ worker_id: "gpu-1", worker_wallet: WALLET, runtime: "ollama", models: ["llama3.2"] }),
    });
    expect(created.status).toBe(201);
    expect(await first.stop()).toBe(0);
    const second = await serve(dir);
    const res = await fetch(`${second.base}/api/workers/gpu-1`);
    const onboarding = (await (await fetch(`${second.base}/api/workers/onboarding/status`)).json()) as { registration: { durable: boolean } };
    expect(await second.stop()).toBe(0);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { worker: Record<string, unknown> }).worker).toMatchObject({ worker_id: "gpu-1", worker_wallet: WALLET, online: false });
    expect(onboarding.registration.durable).toBe(true);
  }, 30_000);

  test("BASIS_STORE_DRIVER=postgres with an unreachable database fails at start and never prints the database URL", async () => {
    // A port nothing listens on: the connection is refused at once.
    const result = await run([CANARY_BIN, "serve", "--port", "0"], {
      BASIS_STORE_DRIVER: "postgres",
      BASIS_DATABASE_URL: "postgres://basis:hunter2-password@127.0.0.1:1/basis",
    });
    expect(result.code).toBe(1);
    expect(`${result.stdout}${result.stderr}`).toContain("database_unreachable");
    expect(`${result.stdout}${result.stderr}`).not.toContain("hunter2");
  });

  test("a malformed BASIS_HEARTBEAT_WINDOW_MS fails at start", async () => {
    const result = await run([CANARY_BIN, "serve", "--port", "0"], { BASIS_HEARTBEAT_WINDOW_MS: "soon" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("BASIS_HEARTBEAT_WINDOW_MS");
  });
});
