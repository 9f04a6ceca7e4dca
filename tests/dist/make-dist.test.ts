/**
 * `make dist` and `make bundle`, built for the host target only (every target is a CI job of
 * its own: slow, and it needs each target's Bun runtime from the npm registry).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { ROOT, run } from "../helpers/binaries.ts";
import { EXE, HOST_TARGET, sha256File } from "./release.ts";

const work = mkdtempSync(join(tmpdir(), "basis-make-dist-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function make(args: string[]) {
  return run(["make", "--no-print-directory", "-C", ROOT, ...args], {}, 180_000);
}

/** Every line of a SHA256SUMS file, in the `sha256sum` text format: 64 hex, two spaces, a name. */
function readSums(path: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of readFileSync(path, "utf8").trimEnd().split("\n")) {
    const match = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
    if (!match) throw new Error(`not a sha256sum line: ${line}`);
    sums.set(match[2] as string, match[1] as string);
  }
  return sums;
}

describe("make dist", () => {
  const out = join(work, "dist");

  test(
    "builds both programs under their target names, stamped with that target, with SHA256SUMS",
    async () => {
      const result = await make(["dist", `DIST_TARGETS=${HOST_TARGET}`, `DIST_DIR=${out}`]);
      expect(result.code).toBe(0);
      const names = [`basis-worker-${HOST_TARGET}${EXE}`, `basis-canary-${HOST_TARGET}${EXE}`, "install.sh"];
      expect(readdirSync(out).sort()).toEqual([...names, "SHA256SUMS"].sort());
      const sums = readSums(join(out, "SHA256SUMS"));
      expect([...sums.keys()].sort()).toEqual([...names].sort());
      for (const name of names) expect(sums.get(name)).toBe(sha256File(join(out, name)));
      const version = await run([join(out, names[0] as string), "--version"]);
      expect(version.stdout).toMatch(new RegExp(`^basis-worker \\d+\\.\\d+\\.\\d+ \\(commit (?:[0-9a-f]{12}|unknown), target ${HOST_TARGET}\\)\n$`));
    },
    180_000,
  );

  test("fails before building anything when a target is unknown", async () => {
    const bad = join(work, "bad");
    const result = await make(["dist", `DIST_TARGETS=${HOST_TARGET} plan9-x64`, `DIST_DIR=${bad}`]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("unknown target 'plan9-x64'");
    expect(existsSync(join(bad, `basis-worker-${HOST_TARGET}${EXE}`))).toBe(false);
  });
});

describe("make bundle", () => {
  test(
    "packs one tar.gz that installs and runs with no network",
    async () => {
      const out = join(work, "bundle");
      const result = await make(["bundle", `TARGET=${HOST_TARGET}`, `BUNDLE_DIR=${out}`]);
      expect(result.code).toBe(0);
      const tarballs = readdirSync(out).filter((name) => name.endsWith(".tar.gz"));
      expect(tarballs).toHaveLength(1);
      const tarball = tarballs[0] as string;
      const folder = tarball.replace(/\.tar\.gz$/, "");
      expect(folder).toMatch(new RegExp(`^basis-worker-\\d+\\.\\d+\\.\\d+-${HOST_TARGET}$`));
      expect(readSums(join(out, `${tarball}.sha256`)).get(tarball)).toBe(sha256File(join(out, tarball)));

      const unpacked = join(work, "unpacked");
      expect((await run(["mkdir", "-p", unpacked])).code).toBe(0);
      expect((await run(["tar", "-xzf", join(out, tarball), "-C", unpacked])).code).toBe(0);
      const root = join(unpacked, folder);
      for (const name of ["README.md", "install.sh", "SHA256SUMS", "docker-compose.worker.yml", "Dockerfile", "basis-worker.service", "worker.env.example", "prices.example.json", "skill/SKILL.md"]) {
        expect([name, existsSync(join(root, name))]).toEqual([name, true]);
      }
      // SHA256SUMS covers every file in the bundle, so a damaged USB copy shows up in `sha256sum -c`.
      const sums = readSums(join(root, "SHA256SUMS"));
      const files = readdirSync(root, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile() && entry.name !== "SHA256SUMS")
        .map((entry) => relative(root, join(entry.parentPath, entry.name)));
      expect([...sums.keys()].sort()).toEqual(files.sort());
      for (const [name, hash] of sums) expect([name, sha256File(join(root, name))]).toEqual([name, hash]);
      expect(statSync(join(root, `basis-worker-${HOST_TARGET}${EXE}`)).mode & 0o111).not.toBe(0);

      const direct = await run([join(root, `basis-worker-${HOST_TARGET}${EXE}`), "--version"]);
      expect(direct.stdout).toContain(`target ${HOST_TARGET})`);
      const prefix = join(work, "prefix");
      const installed = await run(["sh", join(root, "install.sh"), "--from", root, "--prefix", prefix], { HOME: work }, 60_000);
      expect(installed.code).toBe(0);
      expect((await run([join(prefix, "bin", `basis-canary${EXE}`), "--version"])).stdout).toContain(`target ${HOST_TARGET})`);
    },
    240_000,
  );
});
