import { describe, expect, test } from "bun:test";
import { DEFAULT_HEARTBEAT_WINDOW_MS } from "../../lib/orchestrator/presence.ts";
import { readServeSettings } from "../../lib/orchestrator/serve-settings.ts";
import { catchBasisError as failure } from "../helpers/errors.ts";

const DATABASE_URL = "postgres://basis:hunter2-password@db.internal:5432/basis";

describe("readServeSettings: the store", () => {
  test.each([[undefined], [""], ["sqlite"], [" SQLite "]])("uses SQLite when BASIS_STORE_DRIVER is %p", (driver) => {
    expect(readServeSettings({ BASIS_STORE_DRIVER: driver }, undefined).store).toBe("sqlite");
  });

  test.each([["postgres"], ["postgresql"], ["POSTGRES"]])("fails clearly for %p, not yet implemented, without quoting the database URL", (driver) => {
    const error = failure(() => readServeSettings({ BASIS_STORE_DRIVER: driver, BASIS_DATABASE_URL: DATABASE_URL }, undefined));
    expect(error.code).toBe("store_driver_unavailable");
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain("not implemented");
    expect(`${error.message} ${error.hint}`).not.toContain("hunter2");
  });

  test("refuses an unknown driver, naming the choices", () => {
    const error = failure(() => readServeSettings({ BASIS_STORE_DRIVER: "mysql" }, undefined));
    expect(error.code).toBe("env_invalid");
    expect(error.message).toBe("BASIS_STORE_DRIVER must be sqlite, postgres or postgresql.");
  });
});

describe("readServeSettings: timings, port and tokens", () => {
  test("defaults: 90 s heartbeat window, 120 s job timeout, port 8787", () => {
    const settings = readServeSettings({ BASIS_HEARTBEAT_WINDOW_MS: " " }, undefined);
    expect(settings.env.BASIS_HEARTBEAT_WINDOW_MS).toBe(DEFAULT_HEARTBEAT_WINDOW_MS);
    expect(settings.env.BASIS_JOB_TIMEOUT_MS).toBe(120_000);
    expect(settings.port).toBe(8787);
  });

  test("reads whole milliseconds, PORT, and the flag over PORT", () => {
    const settings = readServeSettings({ BASIS_HEARTBEAT_WINDOW_MS: "30000", BASIS_JOB_TIMEOUT_MS: "5000", PORT: "9000" }, undefined);
    expect([settings.env.BASIS_HEARTBEAT_WINDOW_MS, settings.env.BASIS_JOB_TIMEOUT_MS, settings.port]).toEqual([30_000, 5_000, 9000]);
    expect(readServeSettings({ PORT: "9000" }, "0").port).toBe(0);
  });

  test.each([["abc"], ["999"], ["1.5e4"], ["-5000"], ["86400001"]])("refuses BASIS_HEARTBEAT_WINDOW_MS=%p", (value) => {
    const error = failure(() => readServeSettings({ BASIS_HEARTBEAT_WINDOW_MS: value }, undefined));
    expect(error.code).toBe("env_invalid");
    expect(error.message).toBe("BASIS_HEARTBEAT_WINDOW_MS must be a whole number of milliseconds from 1000 to 86400000.");
  });

  test("a bad --port is named as the flag", () => {
    expect(failure(() => readServeSettings({}, "http")).message).toBe("--port must be a whole number from 0 to 65535.");
  });

  test("BASIS_WORKER_TOKENS is split on commas; a secret's value never reaches an error", () => {
    expect(readServeSettings({ BASIS_WORKER_TOKENS: " a-token , b-token ,," }, undefined).allowlist).toEqual(["a-token", "b-token"]);
  });
});
