/**
 * SIGTERM on the compiled orchestrator: new dispatches get 503 with Retry-After, the running job
 * finishes and is answered, its JSON job line is logged, the store is flushed, exit 0.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { CANARY_BIN, requireBinaries } from "../helpers/binaries.ts";
import { dispatch, ScriptedRuntime, startTestWorker, waitUntil } from "../helpers/harness.ts";

requireBinaries();

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("basis-canary serve on SIGTERM", () => {
  test("refuses new dispatches with 503 + Retry-After, lets the running job finish, flushes, exits 0", async () => {
    const dir = mkdtempSync(join(tmpdir(), "basis-shutdown-"));
    dirs.push(dir);
    const portFile = join(dir, "port");
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BASIS_"))) as Record<string, string>;
    const proc = Bun.spawn([CANARY_BIN, "serve", "--port", "0", "--port-file", portFile, "--data", dir, "--log-format", "json"], {
      env: { ...env, BASIS_SHUTDOWN_TIMEOUT_MS: "20000", BASIS_QUEUE_TIMEOUT_MS: "200" },
      stdout: "ignore",
      stderr: "pipe",
    });
    const stderr = new Response(proc.stderr).text();
    await waitUntil("the port file", () => existsSync(portFile), 10_000);
    const url = `http://127.0.0.1:${readFileSync(portFile, "utf8").trim()}`;
    const runtime = new ScriptedRuntime("hold");
    const worker = await startTestWorker({ url } as never, {}, runtime);
    await waitUntil("the worker online", async () => ((await (await fetch(`${url}/healthz`)).json()) as { workersOnline: number }).workersOnline === 1, 10_000);
    const held = dispatch({ url } as never, { model: "basis-default", messages: [{ role: "user", content: "hi" }] });
    await waitUntil("the job running", () => runtime.started === 1, 10_000);

    proc.kill("SIGTERM");
    let refused: Response | undefined;
    await waitUntil("new dispatches refused", async () => {
      refused = await dispatch({ url } as never, { model: "basis-default", messages: [{ role: "user", content: "late" }] });
      // Before the signal lands, the one busy worker makes it wait in the queue (429 after 200 ms).
      return refused.status === 503;
    }, 10_000);
    expect(refused!.headers.get("retry-after")).toBe("5");
    expect(((await refused!.json()) as { error: { code: string } }).error.code).toBe("shutting_down");

    runtime.release?.();
    expect((await held).status).toBe(200);
    expect(await proc.exited).toBe(0);
    await worker.stop();

    const lines = (await stderr).trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    const job = lines.find((line) => line.msg === "job");
    expect(job).toMatchObject({ level: "info", tag: "orchestrator", model: "basis-default", outcome: "completed", worker_id: "test-worker", output_tokens: 2 });
    expect(JSON.stringify(lines)).not.toContain("partial answer");
    const db = new Database(join(dir, "basis.sqlite"), { readonly: true });
    expect((db.query("SELECT COUNT(*) AS n FROM receipts").get() as { n: number }).n).toBe(1);
    db.close();
  }, 30_000);
});
