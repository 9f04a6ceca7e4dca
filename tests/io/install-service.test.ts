import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installService } from "../../lib/io/install-service.ts";
import { parseUnitFile, unitValue } from "../dist/unit-file.ts";
import { rejectionOf } from "../helpers/errors.ts";

let dir: string;
let envFile: string;
let binary: string;
const SECRET = "tok_7f3a9c1d2e4b5a6f";

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "basis-service-"));
  envFile = join(dir, "worker.env");
  writeFileSync(envFile, `BASIS_WORKER_ID=w1\nBASIS_WORKER_TOKEN=${SECRET}\n`, { mode: 0o600 });
  binary = join(dir, "basis-worker");
  writeFileSync(binary, "#!/bin/sh\n", { mode: 0o755 });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("installService", () => {
  test("writes a 0644 unit that names the env file and holds none of its secrets", async () => {
    const result = await installService({ scope: "system", envFile, binary, unitDir: dir });
    const text = readFileSync(result.unitPath, "utf8");
    expect(statSync(result.unitPath).mode & 0o777).toBe(0o644);
    expect(text).not.toContain(SECRET);
    const unit = parseUnitFile(text);
    expect(unitValue(unit, "Service", "EnvironmentFile")).toBe(envFile);
    expect(unitValue(unit, "Service", "ExecStart")).toBe(`${binary} start --env-file ${envFile}`);
  });

  test("runs a system unit as the env file's owner so start can read the 0600 file", async () => {
    const result = await installService({ scope: "system", envFile, binary, unitDir: dir });
    const unit = parseUnitFile(readFileSync(result.unitPath, "utf8"));
    expect(unitValue(unit, "Service", "User")).toBe(String(statSync(envFile).uid));
    expect(unitValue(unit, "Service", "Group")).toBe(String(statSync(envFile).gid));
  });

  test("prints systemctl commands for the chosen scope and runs none", async () => {
    const system = await installService({ scope: "system", envFile, binary, unitDir: dir });
    expect(system.commands).toContain("sudo systemctl enable --now basis-worker.service");
    const user = await installService({ scope: "user", envFile, binary, unitDir: join(dir, "user-units") });
    expect(user.commands).toContain("systemctl --user enable --now basis-worker.service");
    expect(user.unitPath).toBe(join(dir, "user-units", "basis-worker.service"));
  });

  test("leaves an existing unit alone unless forced", async () => {
    await installService({ scope: "system", envFile, binary, unitDir: dir });
    expect((await rejectionOf(() => installService({ scope: "system", envFile, binary, unitDir: dir }))).code).toBe("out_exists");
    const forced = await installService({ scope: "user", envFile, binary, unitDir: dir, force: true });
    expect(readFileSync(forced.unitPath, "utf8")).toContain("WantedBy=default.target");
  });

  const refusals: [string, () => void, string][] = [
    ["an env file others can read", () => chmodSync(envFile, 0o644), "env_file_loose"],
    ["a missing env file", () => rmSync(envFile), "env_file_missing"],
    ["a binary that is not executable", () => chmodSync(binary, 0o644), "service_binary_missing"],
  ];
  for (const [what, arrange, code] of refusals) {
    test(`refuses ${what} and writes nothing`, async () => {
      arrange();
      expect((await rejectionOf(() => installService({ scope: "system", envFile, binary, unitDir: dir }))).code).toBe(code);
      expect(() => statSync(join(dir, "basis-worker.service"))).toThrow();
    });
  }

  test("asks for --binary when run from source", async () => {
    expect((await rejectionOf(() => installService({ scope: "system", envFile, unitDir: dir }))).code).toBe("service_binary_unknown");
  });
});
