import { describe, expect, test } from "bun:test";
import { DEFAULT_HEARTBEAT_WINDOW_MS } from "../../lib/orchestrator/presence.ts";
import { readServeSettings } from "../../lib/orchestrator/serve-settings.ts";
import { catchBasisError as failure } from "../helpers/errors.ts";

const DATABASE_URL = "postgres://basis:hunter2-password@db.internal:5432/basis";
const store = (env: Record<string, string | undefined>) => readServeSettings(env, undefined).store;

describe("readServeSettings: the store", () => {
  test.each([[undefined], [""], ["sqlite"], [" SQLite "]])("uses SQLite when BASIS_STORE_DRIVER is %p", (driver) => {
    expect(store({ BASIS_STORE_DRIVER: driver })).toEqual({ driver: "sqlite" });
  });

  test.each([["postgres"], ["postgresql"], ["POSTGRES"]])("uses PostgreSQL at BASIS_DATABASE_URL for %p", (driver) => {
    expect(store({ BASIS_STORE_DRIVER: driver, BASIS_DATABASE_URL: ` ${DATABASE_URL} ` })).toEqual({ driver: "postgres", databaseUrl: DATABASE_URL });
  });

  test.each([[undefined], [""], ["mysql://basis:hunter2-password@db/basis"], ["hunter2-password"]])(
    "postgres without a postgres:// BASIS_DATABASE_URL (%p) fails clearly without quoting it",
    (url) => {
      const error = failure(() => store({ BASIS_STORE_DRIVER: "postgres", BASIS_DATABASE_URL: url }));
      expect(error.code).toBe("database_url_malformed");
      expect(error.exitCode).toBe(2);
      expect(`${error.message} ${error.hint}`).not.toContain("hunter2");
    },
  );

  test("a database URL without the postgres driver is refused, not ignored", () => {
    const error = failure(() => store({ BASIS_DATABASE_URL: DATABASE_URL }));
    expect(error.code).toBe("store_driver_mismatch");
    expect(`${error.message} ${error.hint}`).not.toContain("hunter2");
  });

  test("refuses an unknown driver, naming the choices", () => {
    const error = failure(() => store({ BASIS_STORE_DRIVER: "mysql" }));
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

  test("BASIS_WORKER_TOKENS is split on commas", () => {
    expect(readServeSettings({ BASIS_WORKER_TOKENS: " a-token , b-token ,," }, undefined).allowlist).toEqual(["a-token", "b-token"]);
  });
});

describe("readServeSettings: BASIS_FIRST_TOKEN_TIMEOUT_MS", () => {
  const firstToken = (value: string | undefined) => readServeSettings({ BASIS_FIRST_TOKEN_TIMEOUT_MS: value }, undefined).env.BASIS_FIRST_TOKEN_TIMEOUT_MS;
  test("unset or empty is the default, 30 s", () => {
    expect(firstToken(undefined)).toBe(30_000);
    expect(firstToken(" ")).toBe(30_000);
  });
  test("takes whole milliseconds from 1 s to 1 h", () => {
    expect(firstToken("1000")).toBe(1_000);
    expect(firstToken("3600000")).toBe(3_600_000);
  });
  test.each([["999"], ["3600001"], ["30s"], ["-5"], ["1e4"]])("refuses %p", (value) => {
    const error = failure(() => firstToken(value));
    expect(error.code).toBe("env_invalid");
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe("BASIS_FIRST_TOKEN_TIMEOUT_MS must be a whole number of milliseconds from 1000 to 3600000.");
  });
});
