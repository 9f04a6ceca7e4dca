import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { renderServiceUnit, type ServiceUnitOptions } from "../../lib/core/service-unit.ts";
import { parseUnitFile, unitValue } from "../dist/unit-file.ts";
import { catchBasisError } from "../helpers/errors.ts";

const SYSTEM: ServiceUnitOptions = {
  scope: "system",
  binary: "/usr/local/bin/basis-worker",
  envFile: "/etc/basis-worker/worker.env",
  runAs: { user: "basis-worker", group: "basis-worker" },
};

describe("renderServiceUnit", () => {
  test("reads settings from the env file and passes the same file to start", () => {
    const unit = parseUnitFile(renderServiceUnit(SYSTEM));
    expect(unitValue(unit, "Service", "EnvironmentFile")).toBe("/etc/basis-worker/worker.env");
    expect(unitValue(unit, "Service", "ExecStart")).toBe("/usr/local/bin/basis-worker start --env-file /etc/basis-worker/worker.env");
  });

  test("restarts on failure but not after a bad-settings exit", () => {
    const unit = parseUnitFile(renderServiceUnit(SYSTEM));
    expect(unitValue(unit, "Service", "Restart")).toBe("on-failure");
    expect(unitValue(unit, "Service", "RestartPreventExitStatus")).toBe("2");
  });

  test("hardens a system unit and gives it one writable state folder", () => {
    const unit = parseUnitFile(renderServiceUnit(SYSTEM));
    const expected: Record<string, string> = {
      NoNewPrivileges: "yes",
      ProtectSystem: "strict",
      ProtectHome: "read-only",
      PrivateTmp: "yes",
      PrivateDevices: "yes",
      CapabilityBoundingSet: "",
      StateDirectory: "basis-worker",
      Environment: "XDG_STATE_HOME=/var/lib",
      User: "basis-worker",
      Group: "basis-worker",
    };
    for (const [key, value] of Object.entries(expected)) expect([key, unitValue(unit, "Service", key)]).toEqual([key, value]);
    expect(unitValue(unit, "Install", "WantedBy")).toBe("multi-user.target");
  });

  test("keeps a user unit free of sandboxing that needs namespaces", () => {
    const unit = parseUnitFile(renderServiceUnit({ ...SYSTEM, scope: "user" }));
    expect(unitValue(unit, "Service", "NoNewPrivileges")).toBe("yes");
    expect(unitValue(unit, "Service", "ProtectSystem")).toBeUndefined();
    expect(unitValue(unit, "Service", "User")).toBeUndefined();
    expect(unitValue(unit, "Install", "WantedBy")).toBe("default.target");
  });

  test("is what templates/basis-worker.service holds for the default paths", () => {
    const template = readFileSync(join(import.meta.dir, "../../templates/basis-worker.service"), "utf8");
    expect(template).toBe(renderServiceUnit(SYSTEM));
  });

  const badPaths: [string, Partial<ServiceUnitOptions>][] = [
    ["a relative binary", { binary: "dist/basis-worker" }],
    ["a binary path with a space", { binary: "/opt/my tools/basis-worker" }],
    ["a % specifier", { envFile: "/etc/%i/worker.env" }],
    ["a $ variable", { envFile: "/etc/$HOME/worker.env" }],
    ["a quote", { binary: '/usr/bin/"x' }],
    ["a newline that would add a directive", { envFile: "/etc/w.env\nExecStartPre=/bin/sh" }],
  ];
  for (const [what, change] of badPaths) {
    test(`refuses ${what}`, () => {
      expect(catchBasisError(() => renderServiceUnit({ ...SYSTEM, ...change })).code).toBe("service_path_invalid");
    });
  }

  test("refuses an account name that is not a plain name or id", () => {
    expect(catchBasisError(() => renderServiceUnit({ ...SYSTEM, runAs: { user: "root\nExecStartPre=x", group: "x" } })).code).toBe("service_user_invalid");
  });
});
