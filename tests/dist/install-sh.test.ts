/**
 * templates/install.sh end to end: served over real HTTP on 127.0.0.1, run by a POSIX shell
 * (dash where present), installed into a temp prefix, the installed binary run.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { appendFileSync, closeSync, createReadStream, existsSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinaries, run } from "../helpers/binaries.ts";
import { EXE, HOST_TARGET, INSTALL_SH, makeReleaseFolder } from "./release.ts";

const SHELL = Bun.which("dash") ?? "/bin/sh";
let release: string;
let server: Server;
let base: string;
let work: string;
let prefix: string;
let stage: string;

beforeAll(async () => {
  requireBinaries();
  release = makeReleaseFolder();
  server = createServer((req, res) => {
    const file = join(release, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname).replace(/^\/+/, ""));
    if (!file.startsWith(release) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((done) => server.close(done));
  rmSync(release, { recursive: true, force: true });
});

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), "basis-install-"));
  prefix = join(work, "prefix");
  stage = join(work, "tmp");
  Bun.spawnSync(["mkdir", stage]);
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

function install(args: string[], env: Record<string, string> = {}) {
  return run([SHELL, INSTALL_SH, ...args], { HOME: work, TMPDIR: stage, ...env }, 60_000);
}

/** Flips one byte in the middle of a served file, as a bad mirror or a truncated transfer would. */
function corrupt(path: string): void {
  const middle = Math.floor(statSync(path).size / 2);
  const fd = openSync(path, "r+");
  const one = Buffer.alloc(1);
  readSync(fd, one, 0, 1, middle);
  one[0] = (one[0] as number) ^ 0xff;
  writeSync(fd, one, 0, 1, middle);
  closeSync(fd);
}

describe("install.sh", () => {
  test("downloads, verifies and installs both binaries, which then run", async () => {
    const result = await install(["--prefix", prefix], { BASIS_DOWNLOAD_BASE: base });
    expect(result.code).toBe(0);
    for (const program of ["basis-worker", "basis-canary"]) {
      expect(statSync(join(prefix, "bin", program + EXE)).mode & 0o777).toBe(0o755);
    }
    const version = await run([join(prefix, "bin", `basis-worker${EXE}`), "--version"]);
    expect(version.stdout).toContain(`target ${HOST_TARGET}`);
    expect(result.stderr).toContain("basis-worker setup --check");
    expect(readdirSync(stage)).toEqual([]);
    expect(readdirSync(join(prefix, "bin")).sort()).toEqual([`basis-canary${EXE}`, `basis-worker${EXE}`]);
  });

  test("installs into ~/.local/bin when no prefix is given", async () => {
    const result = await install(["--worker-only"], { BASIS_DOWNLOAD_BASE: base });
    expect(result.code).toBe(0);
    expect(readdirSync(join(work, ".local", "bin"))).toEqual([`basis-worker${EXE}`]);
  });

  test("installs from a local folder with no network (--from)", async () => {
    const result = await install(["--from", release, "--prefix", prefix]);
    expect(result.code).toBe(0);
    expect((await run([join(prefix, "bin", `basis-worker${EXE}`), "--version"])).code).toBe(0);
  });

  test("refuses a corrupted binary and leaves nothing behind", async () => {
    const copy = mkdtempSync(join(tmpdir(), "basis-corrupt-"));
    try {
      Bun.spawnSync(["cp", "-R", `${release}/.`, copy]);
      corrupt(join(copy, `basis-canary-${HOST_TARGET}${EXE}`));
      const result = await install(["--from", copy, "--prefix", prefix]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("checksum mismatch");
      expect(result.stderr).toContain("nothing was installed");
      expect(existsSync(prefix)).toBe(false);
      expect(readdirSync(stage)).toEqual([]);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  test("refuses a binary served over HTTP that does not match SHA256SUMS", async () => {
    const name = `basis-worker-${HOST_TARGET}${EXE}`;
    const saved = join(work, "saved");
    Bun.spawnSync(["cp", join(release, name), saved]);
    try {
      appendFileSync(join(release, name), "tampered");
      const result = await install(["--prefix", prefix], { BASIS_DOWNLOAD_BASE: base });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(`checksum mismatch for ${name}`);
      expect(existsSync(prefix)).toBe(false);
      expect(readdirSync(stage)).toEqual([]);
    } finally {
      Bun.spawnSync(["cp", saved, join(release, name)]);
    }
  });

  const failures: [string, string[], Record<string, string>, string][] = [
    ["no download location", ["--prefix", "P"], {}, "nowhere to download from"],
    ["a target with no release", ["--prefix", "P", "--target", "linux-arm64"], { BASIS_DOWNLOAD_BASE: "B" }, "download failed"],
    ["an unknown target", ["--prefix", "P", "--target", "plan9-x64"], { BASIS_DOWNLOAD_BASE: "B" }, "unknown target"],
    ["an unknown option", ["--prefix", "P", "--sudo"], { BASIS_DOWNLOAD_BASE: "B" }, "unknown option"],
  ];
  for (const [what, args, env, message] of failures) {
    test(`fails clearly on ${what} and installs nothing`, async () => {
      const fill = (value: string) => (value === "P" ? prefix : value === "B" ? base : value);
      const result = await install(args.map(fill), Object.fromEntries(Object.entries(env).map(([k, v]) => [k, fill(v)])));
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(message);
      expect(existsSync(prefix)).toBe(false);
      expect(readdirSync(stage)).toEqual([]);
    });
  }

  test("refuses a binary that SHA256SUMS does not list", async () => {
    const copy = mkdtempSync(join(tmpdir(), "basis-unlisted-"));
    try {
      Bun.spawnSync(["cp", "-R", `${release}/.`, copy]);
      writeFileSync(join(copy, "SHA256SUMS"), "");
      const result = await install(["--from", copy, "--prefix", prefix]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("is not listed in SHA256SUMS");
      expect(existsSync(prefix)).toBe(false);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  test("is valid POSIX sh", async () => {
    const syntax = await run([SHELL, "-n", INSTALL_SH]);
    expect(syntax).toMatchObject({ code: 0, stderr: "" });
  });

  test.skipIf(!Bun.which("shellcheck"))("passes shellcheck as POSIX sh", async () => {
    const lint = await run(["shellcheck", "-s", "sh", INSTALL_SH]);
    expect(lint.stdout + lint.stderr).toBe("");
    expect(lint.code).toBe(0);
  });
});
