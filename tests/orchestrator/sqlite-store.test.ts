import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MIGRATIONS, migrate, openSqliteStore } from "../../lib/orchestrator/sqlite-store.ts";
import type { JobRecord, RewardEntry } from "../../lib/orchestrator/store.ts";
import { WALLET } from "../helpers/harness.ts";
import { call, register, registration, startApi } from "./_helpers.ts";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "basis-store-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function job(id: string, at: number): JobRecord {
  return {
    job_id: id,
    worker_id: "gpu-1",
    worker_wallet: WALLET,
    model: "m",
    status: "completed",
    prompt_tokens: 1,
    completion_tokens: 1,
    latency_ms: 5,
    payable: true,
    created_at: at,
  };
}

function entry(id: string, reward: string, state: RewardEntry["state"], at: number): RewardEntry {
  return { job_id: id, worker_id: "gpu-1", worker_wallet: WALLET, model: "m", job_status: "completed", state, charged_raw: reward, reward_raw: reward, reason: null, created_at: at };
}

describe("migrate", () => {
  test("applies every migration once, and a second run applies none", () => {
    const db = new Database(":memory:");
    expect(migrate(db)).toBe(MIGRATIONS.length);
    expect(migrate(db)).toBe(MIGRATIONS.length);
    const rows = db.query("SELECT version FROM schema_migrations ORDER BY version").all() as { version: number }[];
    expect(rows.map((row) => row.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    db.close();
  });

  test("upgrades a store written at version 1 to the current version, keeping its workers", () => {
    const path = join(tempDir(), "basis.sqlite");
    const old = new Database(path, { create: true });
    old.run("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
    old.run(MIGRATIONS[0] as string);
    old.run("INSERT INTO schema_migrations VALUES (1, 0)");
    old.run("INSERT INTO workers (worker_id, worker_wallet, runtime, models, registered_at) VALUES ('gpu-1', ?, 'echo', '[\"m\"]', 7)", [WALLET]);
    old.close();
    const db = new Database(path);
    expect(migrate(db)).toBe(MIGRATIONS.length);
    db.close();
    const store = openSqliteStore(join(path, ".."));
    expect(store.getWorker("gpu-1")).toMatchObject({ worker_wallet: WALLET, registered_at: 7, last_heartbeat_at: null });
    store.close();
  });
});

describe("SqliteStore", () => {
  test("keeps workers, heartbeats and the ledger across a reopen of the same directory", () => {
    const dir = tempDir();
    const first = openSqliteStore(dir);
    expect(first.durable).toBe(true);
    first.registerWorker({ worker_id: "gpu-1", worker_wallet: WALLET, runtime: "echo", models: ["m"], at: 1 });
    first.recordHeartbeat("gpu-1", 50);
    first.recordJob(job("job_a", 60), entry("job_a", "10", "pending", 60));
    first.close();
    const second = openSqliteStore(dir);
    expect(second.getWorker("gpu-1")).toMatchObject({ last_heartbeat_at: 50, last_seen_at: 50, jobs_completed: 1 });
    expect(second.sumRewards("gpu-1").pending).toBe(10n);
    second.close();
  });

  test("creates its directory owner-only", () => {
    const dir = join(tempDir(), "nested");
    openSqliteStore(dir).close();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  test("tightens an existing 0755 directory to 0700 and its database files to 0600", () => {
    const dir = join(tempDir(), "data");
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    openSqliteStore(dir).close();
    for (const name of ["basis.sqlite", "basis.sqlite-wal", "basis.sqlite-shm"]) {
      const file = join(dir, name);
      writeFileSync(file, "", { flag: "a" });
      chmodSync(file, 0o644);
    }
    const store = openSqliteStore(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const name of ["basis.sqlite", "basis.sqlite-wal", "basis.sqlite-shm"]) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
    store.close();
  });

  test("creates a new database and its WAL files 0600", () => {
    const dir = tempDir();
    const store = openSqliteStore(dir);
    store.registerWorker({ worker_id: "gpu-1", worker_wallet: WALLET, runtime: "echo", models: ["m"], at: 1 });
    for (const name of ["basis.sqlite", "basis.sqlite-wal", "basis.sqlite-shm"]) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
    store.close();
  });

  test("refuses a data directory it cannot make owner-only, with a code and a hint", () => {
    const file = join(tempDir(), "not-a-dir");
    writeFileSync(file, "x");
    expect(() => openSqliteStore(join(file, "data"))).toThrow(expect.objectContaining({ code: "data_dir_unusable", hint: expect.any(String) }));
  });

  test("recordJob settles after its commit, which another connection then sees", async () => {
    const dir = tempDir();
    const store = openSqliteStore(dir);
    store.registerWorker({ worker_id: "gpu-1", worker_wallet: WALLET, runtime: "echo", models: ["m"], at: 1 });
    const reader = new Database(join(dir, "basis.sqlite"), { readonly: true });
    const count = () => (reader.query("SELECT COUNT(*) AS n FROM reward_entries").get() as { n: number }).n;
    const committed = [store.recordJob(job("job_a", 10), entry("job_a", "3", "pending", 10)), store.recordJob(job("job_b", 11), entry("job_b", "4", "pending", 11))];
    // Queued for the group commit: nothing is written until the turn ends.
    expect(count()).toBe(0);
    await Promise.all(committed);
    expect(count()).toBe(2);
    reader.close();
    store.close();
  });

  test("a record that cannot be written fails alone; the rest of its batch commits", async () => {
    const store = openSqliteStore(undefined);
    store.registerWorker({ worker_id: "gpu-1", worker_wallet: WALLET, runtime: "echo", models: ["m"], at: 1 });
    const stranger = { ...job("job_x", 10), worker_id: "nobody" };
    const outcomes = await Promise.allSettled([
      store.recordJob(job("job_a", 10), entry("job_a", "3", "pending", 10)),
      store.recordJob(stranger, { ...entry("job_x", "3", "pending", 10), worker_id: "nobody" }),
      store.recordJob(job("job_b", 11), entry("job_b", "4", "pending", 11)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(store.countRewardEntries("gpu-1")).toBe(2);
    store.close();
  });

  test("a record after close is refused, not silently dropped", async () => {
    const store = openSqliteStore(undefined);
    store.close();
    await expect(store.recordJob(job("job_a", 10), entry("job_a", "3", "pending", 10))).rejects.toThrow("closed");
  });

  test("an in-memory store says it is not durable", () => {
    const store = openSqliteStore(undefined);
    expect(store.durable).toBe(false);
    store.close();
  });

  test("a socket touch moves last_seen_at but not the HTTP heartbeat", () => {
    const store = openSqliteStore(undefined);
    store.registerWorker({ worker_id: "gpu-1", worker_wallet: WALLET, runtime: "echo", models: ["m"], at: 1 });
    store.touchWorker("gpu-1", 99);
    expect(store.getWorker("gpu-1")).toMatchObject({ last_seen_at: 99, last_heartbeat_at: null });
    store.close();
  });

  test("sums ledger amounts past 2^53 exactly, by state, and lists newest first", () => {
    const store = openSqliteStore(undefined);
    store.registerWorker({ worker_id: "gpu-1", worker_wallet: WALLET, runtime: "echo", models: ["m"], at: 1 });
    const big = "9007199254740993"; // 2^53 + 1: a float would round it
    store.recordJob(job("job_a", 10), entry("job_a", big, "pending", 10));
    store.recordJob(job("job_b", 20), entry("job_b", big, "pending", 20));
    store.recordJob(job("job_c", 30), entry("job_c", "5", "settled", 30));
    store.recordJob(job("job_d", 40), entry("job_d", "0", "not_payable", 40));
    expect(store.sumRewards("gpu-1")).toEqual({ pending: 18014398509481986n, batching: 0n, settled: 5n });
    expect(store.listRewardEntries("gpu-1", 2).map((e) => e.job_id)).toEqual(["job_d", "job_c"]);
    expect(store.countRewardEntries("gpu-1")).toBe(4);
    store.close();
  });

  test("writes a job and its ledger line together: a duplicate job id leaves no second line", () => {
    const store = openSqliteStore(undefined);
    store.registerWorker({ worker_id: "gpu-1", worker_wallet: WALLET, runtime: "echo", models: ["m"], at: 1 });
    store.recordJob(job("job_a", 10), entry("job_a", "3", "pending", 10));
    store.recordJob(job("job_a", 11), entry("job_a", "3", "pending", 11));
    store.recordJob(job("job_b", 12), entry("job_b", "4", "pending", 12));
    // The repeat is dropped; the batch it travelled in is still written.
    expect(store.countRewardEntries("gpu-1")).toBe(2);
    expect(store.sumRewards("gpu-1").pending).toBe(7n);
    expect(store.getWorker("gpu-1")?.jobs_completed).toBe(2);
    store.close();
  });
});

describe("startOrchestrator with a data directory", () => {
  test("a worker registered before a restart is still registered after it", async () => {
    const dir = tempDir();
    const first = await startApi({ dataDir: dir });
    expect((await register(first, registration("gpu-1", WALLET, { runtime: "ollama", models: ["llama3.2"] }))).status).toBe(201);
    await first.close();
    const second = await startApi({ dataDir: dir });
    const answer = await call(second, "GET", "/api/workers/gpu-1");
    const again = await register(second, registration("gpu-1", WALLET, { runtime: "ollama", models: ["llama3.2"] }));
    await second.close();
    expect(answer.status).toBe(200);
    expect(answer.body.worker).toMatchObject({ worker_id: "gpu-1", worker_wallet: WALLET, runtime: "ollama", models: ["llama3.2"], online: false });
    expect(again.body.created).toBe(false);
  });
});
