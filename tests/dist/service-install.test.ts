/** `basis-worker service install` through the compiled binary, and the template unit under systemd's own checker. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinaries, ROOT, run, WORKER_BIN } from "../helpers/binaries.ts";
import { parseUnitFile, unitValue } from "./unit-file.ts";

const work = mkdtempSync(join(tmpdir(), "basis-service-bin-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const SECRET = "auth_5b1e0c9d7a3f2e48";

describe("basis-worker service install", () => {
  test("writes a unit that runs this binary with the env file, and prints what to run", async () => {
    requireBinaries();
    const envFile = join(work, "worker.env");
    writeFileSync(envFile, `BASIS_WORKER_AUTH_KEY=${SECRET}\n`, { mode: 0o600 });
    const result = await run([WORKER_BIN, "service", "install", "--env-file", envFile, "--unit-dir", work, "--json"]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { unit_path: string; commands: string[] };
    expect(report.commands).toContain("sudo systemctl daemon-reload");
    const text = readFileSync(report.unit_path, "utf8");
    expect(statSync(report.unit_path).mode & 0o777).toBe(0o644);
    expect(text + result.stdout + result.stderr).not.toContain(SECRET);
    expect(unitValue(parseUnitFile(text), "Service", "ExecStart")).toBe(`${WORKER_BIN} start --env-file ${envFile}`);
  });

  test("tells people the next commands in words and starts nothing", async () => {
    const envFile = join(work, "user.env");
    writeFileSync(envFile, "BASIS_WORKER_ID=w1\n", { mode: 0o600 });
    const unitDir = join(work, "user-units");
    const result = await run([WORKER_BIN, "service", "install", "--user", "--env-file", envFile, "--unit-dir", unitDir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Nothing was started");
    expect(result.stdout).toContain("systemctl --user enable --now basis-worker.service");
  });
});

describe("templates/basis-worker.service", () => {
  test.skipIf(!Bun.which("systemd-analyze"))("passes systemd-analyze verify with no unknown keys", async () => {
    // verify insists the ExecStart binary exists, so check a copy that points at a real one.
    const unit = readFileSync(join(ROOT, "templates", "basis-worker.service"), "utf8").replaceAll("/usr/local/bin/basis-worker", WORKER_BIN);
    const path = join(work, "basis-worker.service");
    writeFileSync(path, unit);
    const result = await run(["systemd-analyze", "verify", path], { SYSTEMD_LOG_LEVEL: "warning" });
    expect(result.stderr.split("\n").filter((line) => line.includes("basis-worker.service"))).toEqual([]);
    expect(result.code).toBe(0);
  });
});
