import { Database } from "bun:sqlite";
import { afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migratePostgres, openPostgresStore, PG_MIGRATIONS } from "../../lib/orchestrator/postgres-store.ts";
import { MIGRATIONS, migrate, openSqliteStore } from "../../lib/orchestrator/sqlite-store.ts";
import type { JobRecord, NewOffer, RewardEntry, Store } from "../../lib/orchestrator/store.ts";
import { WALLET } from "../helpers/harness.ts";
import { freshDatabase, testPostgres } from "../helpers/postgres.ts";
import { call, OTHER_WALLET, register, registration, startApi } from "./_helpers.ts";

// The server starts here, in a hook with room to spare: a test that timed out while it booted
// would have it killed by the runner, and every later test with it.
beforeAll(() => testPostgres().then(() => undefined), 60_000);

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

  test("upgrades a store written at version 1 to the current version, keeping its workers", async () => {
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
    expect(await store.getWorker("gpu-1")).toMatchObject({ worker_wallet: WALLET, registered_at: 7, last_heartbeat_at: null });
    await store.close();
  });
});

describe("SqliteStore", () => {
  test("keeps workers, heartbeats and the ledger across a reopen of the same directory", async () => {
    const dir = tempDir();
    const first = openSqliteStore(dir);
    expect(first.durable).toBe(true);
    await first.registerWorker({ worker_id: "gpu-1", worker_wallet: WALLET, runtime: "echo", models: ["m"], at: 1 });
    await first.recordHeartbeat("gpu-1", 50);
    await first.recordJob(job("job_a", 60), entry("job_a", "10", "pending", 60));
    await first.close();
    const second = openSqliteStore(dir);
    expect(await second.getWorker("gpu-1")).toMatchObject({ last_heartbeat_at: 50, last_seen_at: 50, jobs_completed: 1 });
    expect((await second.sumRewards("gpu-1")).pending).toBe(10n);
    await second.close();
  });

  test("creates its directory owner-only", async () => {
    const dir = join(tempDir(), "nested");
    await openSqliteStore(dir).close();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  test("tightens an existing 0755 directory to 0700 and its database files to 0600", async () => {
    const dir = join(tempDir(), "data");
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    await openSqliteStore(dir).close();
    for (const name of ["basis.sqlite", "basis.sqlite-wal", "basis.sqlite-shm"]) {
      const file = join(dir, name);
      writeFileSync(file, "", { flag: "a" });
      chmodSync(file, 0o644);
    }
    const store = openSqliteStore(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const name of ["basis.sqlite", "basis.sqlite-wal", "basis.sqlite-shm"]) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
    await store.close();
  });

  test("creates a new database and its WAL files 0600", async () => {
    const dir = tempDir();
    const store = openSqliteStore(dir);
    await store.registerWorker({ worker_id: "gpu-1", worker_wallet: WALLET, runtime: "echo", models: ["m"], at: 1 });
    for (const name of ["basis.sqlite", "basis.sqlite-wal", "basis.sqlite-shm"]) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
    await store.close();
  });

  test("refuses a data directory it cannot make owner-only, with a code and a hint", () => {
    const file = join(tempDir(), "not-a-dir");
    writeFileSync(file, "x");
    expect(() => openSqliteStore(join(file, "data"))).toThrow(expect.objectContaining({ code: "data_dir_unusable", hint: expect.any(String) }));
  });

  test("recordJob settles after its commit, which another connection then sees", async () => {
    const dir = tempDir();
    const store = openSqliteStore(dir);
    await store.registerWorker({ worker_id: "gpu-1", worker_wallet: WALLET, runtime: "echo", models: ["m"], at: 1 });
    const reader = new Database(join(dir, "basis.sqlite"), { readonly: true });
    const count = () => (reader.query("SELECT COUNT(*) AS n FROM reward_entries").get() as { n: number }).n;
    const committed = [store.recordJob(job("job_a", 10), entry("job_a", "3", "pending", 10)), store.recordJob(job("job_b", 11), entry("job_b", "4", "pending", 11))];
    // Queued for the group commit: nothing is written until the turn ends.
    expect(count()).toBe(0);
    await Promise.all(committed);
    expect(count()).toBe(2);
    reader.close();
    await store.close();
  });

  test("with sync full, a group commit's WAL is fsynced once before its callers hear back; normal never fsyncs", async () => {
    for (const sync of ["full", "normal"] as const) {
      const dir = tempDir();
      const store = openSqliteStore(dir, { sync });
      await store.registerWorker({ worker_id: "gpu-1", worker_wallet: WALLET, runtime: "echo", models: ["m"], at: 1 });
      const heard: number[] = [];
      const writes = Array.from({ length: 50 }, (_, i) => store.recordJob(job(`job_${i}`, i), entry(`job_${i}`, "1", "pending", i)).then(() => heard.push(store.walSyncs)));
      await Promise.all(writes);
      // Fifty jobs of one turn: one transaction, one fsync, and nobody told before it.
      expect(heard).toEqual(Array(50).fill(sync === "full" ? 1 : 0));
      expect(await store.countRewardEntries("gpu-1")).toBe(50);
      await store.close();
    }
  });

  test("an in-memory store says it is not durable", async () => {
    const store = openSqliteStore(undefined);
    expect(store.durable).toBe(false);
    await store.close();
  });
});

describe("migratePostgres", () => {
  test("applies every migration once under concurrent opens, and the adapter's table exists", async () => {
    const url = await freshDatabase();
    // Two instances starting at once: the advisory lock makes one apply, the other find it done.
    const [a, b] = await Promise.all([openPostgresStore(url), openPostgresStore(url)]);
    const rows = await a.sql`SELECT version FROM schema_migrations ORDER BY version`;
    expect(rows.map((row: { version: number }) => row.version)).toEqual(PG_MIGRATIONS.map((_, i) => i + 1));
    expect(await migratePostgres(a.sql)).toBe(PG_MIGRATIONS.length);
    const [table] = await a.sql`SELECT to_regclass('socket_io_attachments') AS name`;
    expect(table.name).toBe("socket_io_attachments");
    await Promise.all([a.close(), b.close()]);
  });

  test("two instances recording the same job id at once write one job and one ledger line", async () => {
    const url = await freshDatabase();
    const [a, b] = await Promise.all([openPostgresStore(url), openPostgresStore(url)]);
    await a.registerWorker({ worker_id: "gpu-1", worker_wallet: WALLET, runtime: "echo", models: ["m"], at: 1 });
    const ids = ["job_1", "job_2", "job_3", "job_4", "job_5"];
    await Promise.all(ids.flatMap((id, i) => [a, b].map((store) => store.recordJob(job(id, i), entry(id, "7", "pending", i)))));
    expect(await a.countRewardEntries("gpu-1")).toBe(ids.length);
    expect((await b.sumRewards("gpu-1")).pending).toBe(35n);
    expect((await b.getWorker("gpu-1"))?.jobs_completed).toBe(ids.length);
    await Promise.all([a.close(), b.close()]);
  });

  test("offers are immutable in the database itself", async () => {
    const store = await openPostgresStore(await freshDatabase());
    await store.registerWorker({ worker_id: "gpu-1", worker_wallet: WALLET, runtime: "echo", models: ["m"], at: 1 });
    expect((await store.insertOffer(offer("off_1", "n1", 10))).ok).toBe(true);
    await expect(store.sql`UPDATE offers SET flags = '[]'`).rejects.toThrow(/immutable/);
    await expect(store.sql`DELETE FROM offers`).rejects.toThrow(/immutable/);
    await store.close();
  });
});

function offer(id: string, nonce: string, issuedAt: number): NewOffer {
  return { offer_id: id, worker_id: "gpu-1", worker_wallet: WALLET, nonce, issued_at: issuedAt, valid_until: issuedAt + 1000, manifest: "{}", flags: "[]", accepted_at: issuedAt };
}

/** One suite, every driver: both must behave the same through the Store interface. */
const DRIVERS: [string, () => Promise<Store>][] = [
  ["sqlite", async () => openSqliteStore(undefined)],
  ["postgres", async () => openPostgresStore(await freshDatabase())],
];

describe.each(DRIVERS)("Store on %s", (_driver, open) => {
  let store: Store;
  beforeEach(async () => {
    store = await open();
    await store.registerWorker({ worker_id: "gpu-1", worker_wallet: WALLET, runtime: "echo", models: ["m"], at: 1 });
  });
  afterEach(() => store.close());

  test("registers a worker once; the same id under another wallet is refused, the same wallet updates", async () => {
    expect(await store.getWorker("gpu-1")).toEqual({
      worker_id: "gpu-1", worker_wallet: WALLET, runtime: "echo", models: ["m"], registered_at: 1,
      last_seen_at: null, last_heartbeat_at: null, jobs_completed: 0, verified_at: null,
    });
    const conflict = await store.registerWorker({ worker_id: "gpu-1", worker_wallet: OTHER_WALLET, runtime: "ollama", models: ["x"], at: 2 });
    expect(conflict).toMatchObject({ ok: false, reason: "wallet_conflict", worker: { worker_wallet: WALLET } });
    const update = await store.registerWorker({ worker_id: "gpu-1", worker_wallet: WALLET.toUpperCase().replace("0X", "0x"), runtime: "ollama", models: ["x", "y"], at: 3 });
    expect(update).toMatchObject({ ok: true, created: false, worker: { runtime: "ollama", models: ["x", "y"], registered_at: 1 } });
    expect(await store.getWorker("nobody")).toBeUndefined();
    expect((await store.listWorkers()).map((w) => w.worker_id)).toEqual(["gpu-1"]);
  });

  test("concurrent registrations of one new id create it once", async () => {
    const outcomes = await Promise.all(
      [1, 2, 3, 4].map((at) => store.registerWorker({ worker_id: "gpu-2", worker_wallet: WALLET, runtime: "echo", models: ["m"], at })),
    );
    expect(outcomes.filter((o) => o.ok && o.created)).toHaveLength(1);
    expect(outcomes.every((o) => o.ok)).toBe(true);
  });

  test("a socket touch moves last_seen_at but not the HTTP heartbeat; a heartbeat moves both", async () => {
    await store.touchWorker("gpu-1", 99);
    expect(await store.getWorker("gpu-1")).toMatchObject({ last_seen_at: 99, last_heartbeat_at: null });
    await store.recordHeartbeat("gpu-1", 120);
    expect(await store.getWorker("gpu-1")).toMatchObject({ last_seen_at: 120, last_heartbeat_at: 120 });
  });

  test("sums ledger amounts past 2^53 exactly, by state, and lists newest first", async () => {
    const big = "9007199254740993"; // 2^53 + 1: a float would round it
    await Promise.all([
      store.recordJob(job("job_a", 10), entry("job_a", big, "pending", 10)),
      store.recordJob(job("job_b", 20), entry("job_b", big, "pending", 20)),
      store.recordJob(job("job_c", 30), entry("job_c", "5", "settled", 30)),
      store.recordJob(job("job_d", 40), entry("job_d", "0", "not_payable", 40)),
    ]);
    expect(await store.sumRewards("gpu-1")).toEqual({ pending: 18014398509481986n, batching: 0n, settled: 5n });
    expect((await store.listRewardEntries("gpu-1", 2)).map((e) => e.job_id)).toEqual(["job_d", "job_c"]);
    expect(await store.countRewardEntries("gpu-1")).toBe(4);
    expect(await store.listRewardEntries("gpu-1", 1)).toEqual([entry("job_d", "0", "not_payable", 40)]);
  });

  test("reads see queued job writes without waiting for them", async () => {
    void store.recordJob(job("job_a", 10), entry("job_a", "3", "pending", 10));
    expect(await store.countRewardEntries("gpu-1")).toBe(1);
    expect((await store.getWorker("gpu-1"))?.jobs_completed).toBe(1);
  });

  test("writes a job and its ledger line together: a duplicate job id leaves no second line", async () => {
    await Promise.all([
      store.recordJob(job("job_a", 10), entry("job_a", "3", "pending", 10)),
      store.recordJob(job("job_a", 11), entry("job_a", "3", "pending", 11)),
      store.recordJob(job("job_b", 12), entry("job_b", "4", "pending", 12)),
    ]);
    // A repeat in a later group is dropped too.
    await store.recordJob(job("job_b", 13), entry("job_b", "4", "pending", 13));
    expect(await store.countRewardEntries("gpu-1")).toBe(2);
    expect((await store.sumRewards("gpu-1")).pending).toBe(7n);
    expect((await store.getWorker("gpu-1"))?.jobs_completed).toBe(2);
  });

  test("a receipt is written with its job, found by hash with its ledger line; a duplicate job id stores no second receipt", async () => {
    const receipt = (id: string, hash: string) => ({ hash, job_id: id, core: `{"jobId":"${id}"}`, created_at: 10 });
    await Promise.all([
      store.recordJob(job("job_r", 10), entry("job_r", "3", "pending", 10), receipt("job_r", "a".repeat(64))),
      store.recordJob(job("job_r", 11), entry("job_r", "9", "pending", 11), receipt("job_r", "b".repeat(64))),
    ]);
    await store.recordJob(job("job_r", 12), entry("job_r", "9", "pending", 12), receipt("job_r", "c".repeat(64)));
    expect(await store.getReceipt("a".repeat(64))).toEqual({ receipt: receipt("job_r", "a".repeat(64)), reward: entry("job_r", "3", "pending", 10) });
    expect(await store.getReceipt("b".repeat(64))).toBeUndefined();
    expect(await store.getReceipt("c".repeat(64))).toBeUndefined();
  });

  test("a failed job gets a ledger line but does not count as completed", async () => {
    await store.recordJob({ ...job("job_f", 10), status: "failed", payable: false }, { ...entry("job_f", "0", "not_payable", 10), job_status: "failed" });
    expect(await store.countRewardEntries("gpu-1")).toBe(1);
    expect((await store.getWorker("gpu-1"))?.jobs_completed).toBe(0);
  });

  test("a record that cannot be written fails alone; the rest of its group commits", async () => {
    const stranger = { ...job("job_x", 10), worker_id: "nobody" };
    const outcomes = await Promise.allSettled([
      store.recordJob(job("job_a", 10), entry("job_a", "3", "pending", 10)),
      store.recordJob(stranger, { ...entry("job_x", "3", "pending", 10), worker_id: "nobody" }),
      store.recordJob(job("job_b", 11), entry("job_b", "4", "pending", 11)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(await store.countRewardEntries("gpu-1")).toBe(2);
  });

  test("a job for an unknown worker is refused and writes nothing", async () => {
    const stranger = { ...job("job_x", 10), worker_id: "nobody" };
    await expect(store.recordJob(stranger, { ...entry("job_x", "1", "pending", 10), worker_id: "nobody" })).rejects.toThrow();
    expect(await store.countRewardEntries("nobody")).toBe(0);
  });

  test("offers take the next price version; a used nonce or an older issued_at is a replay", async () => {
    expect(await store.latestOffer("gpu-1")).toBeUndefined();
    const first = await store.insertOffer(offer("off_1", "n1", 100));
    expect(first).toMatchObject({ ok: true, offer: { price_version: 1 } });
    expect(await store.insertOffer(offer("off_2", "n1", 200))).toMatchObject({ ok: false, reason: "nonce_used", latest: { offer_id: "off_1" } });
    expect(await store.insertOffer(offer("off_3", "n3", 100))).toMatchObject({ ok: false, reason: "not_newer" });
    expect(await store.insertOffer(offer("off_4", "n4", 300))).toMatchObject({ ok: true, offer: { price_version: 2 } });
    expect(await store.latestOffer("gpu-1")).toEqual({ ...offer("off_4", "n4", 300), price_version: 2 });
    await store.registerWorker({ worker_id: "gpu-0", worker_wallet: WALLET, runtime: "echo", models: ["m"], at: 1 });
    await store.insertOffer({ ...offer("off_5", "n5", 50), worker_id: "gpu-0" });
    expect((await store.listLatestOffers()).map((o) => [o.worker_id, o.offer_id])).toEqual([["gpu-0", "off_5"], ["gpu-1", "off_4"]]);
  });

  test("concurrent publishes never share a price version", async () => {
    const outcomes = await Promise.all([1, 2, 3, 4, 5].map((i) => store.insertOffer(offer(`off_${i}`, `n${i}`, 100 * i))));
    const versions = outcomes.flatMap((o) => (o.ok ? [o.offer.price_version] : []));
    expect(new Set(versions).size).toBe(versions.length);
    expect((await store.latestOffer("gpu-1"))?.price_version).toBe(Math.max(...versions));
  });

  test("a passed verification job sets verified_at; a failed one clears it", async () => {
    await store.recordVerification("gpu-1", true, 500);
    expect((await store.getWorker("gpu-1"))?.verified_at).toBe(500);
    await store.recordVerification("gpu-1", false, 600);
    expect((await store.getWorker("gpu-1"))?.verified_at).toBeNull();
  });

  test("close writes what is queued", async () => {
    const written = store.recordJob(job("job_q", 10), entry("job_q", "1", "pending", 10));
    await store.close();
    await written;
    await expect(store.recordJob(job("job_r", 11), entry("job_r", "1", "pending", 11))).rejects.toThrow(/closed/);
    store = await open();
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
