import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCommand } from "../../lib/io/exec.ts";
import { checkGitIgnored } from "../../lib/io/git-ignore.ts";

let repo: string;
let outside: string;
beforeAll(async () => {
  repo = mkdtempSync(join(tmpdir(), "basis-git-ignore-"));
  outside = mkdtempSync(join(tmpdir(), "basis-no-git-"));
  const init = await runCommand("git", ["init", "-q"], { timeoutMs: 10_000, cwd: repo });
  if (!init.ok) throw new Error(`git init failed: ${init.stderr}`);
  writeFileSync(join(repo, ".gitignore"), "*.env\nsecrets/\n");
  mkdirSync(join(repo, "deploy"));
});
afterAll(() => {
  rmSync(repo, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe("checkGitIgnored", () => {
  test.each([
    ["an ignored file that does not exist yet", "worker.env", true],
    ["an ignored file in a subfolder", "deploy/worker.env", true],
    ["a file under an ignored folder not created yet", "secrets/token", true],
    ["a file in a folder not created yet", "later/worker.txt", false],
    ["a file git would commit", "worker.txt", false],
    ["a file in a subfolder git would commit", "deploy/config", false],
  ])("in a repository, reports %s", async (_, relative, ignored) => {
    expect(await checkGitIgnored(join(repo, relative))).toEqual({ inRepo: true, ignored });
  });

  test("reports a path outside any repository", async () => {
    expect(await checkGitIgnored(join(outside, "worker.env"))).toEqual({ inRepo: false, ignored: false });
  });

  test("reports a path under a missing folder outside any repository", async () => {
    expect(await checkGitIgnored(join(outside, "missing", "worker.env"))).toEqual({ inRepo: false, ignored: false });
  });

  test("treats a missing git as not in a repository", async () => {
    const result = await checkGitIgnored(join(repo, "worker.env"), { git: "basis-no-such-git-7f3a" });
    expect(result).toEqual({ inRepo: false, ignored: false });
  });
});
