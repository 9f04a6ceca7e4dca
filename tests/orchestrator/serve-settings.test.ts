import { describe, expect, test } from "bun:test";
import { DEFAULT_HEARTBEAT_WINDOW_MS } from "../../lib/orchestrator/presence.ts";
import { parseFirstTokenTimeout, parseHeartbeatWindow, resolveStoreDriver } from "../../lib/orchestrator/serve-settings.ts";

const DATABASE_URL = "postgres://basis:hunter2-password@db.internal:5432/basis";

function failure(fn: () => unknown): { code: string; message: string; hint?: string; exitCode: number } {
  try {
    fn();
  } catch (error) {
    return error as never;
  }
  throw new Error("expected a failure");
}

describe("resolveStoreDriver", () => {
  test.each([[undefined], [""], ["sqlite"], [" SQLite "]])("uses SQLite when BASIS_STORE_DRIVER is %p", (driver) => {
    expect(resolveStoreDriver({ BASIS_STORE_DRIVER: driver })).toEqual({ driver: "sqlite" });
  });

  test.each([["postgres"], ["postgresql"], ["POSTGRES"]])("uses PostgreSQL at BASIS_DATABASE_URL for %p", (driver) => {
    expect(resolveStoreDriver({ BASIS_STORE_DRIVER: driver, BASIS_DATABASE_URL: ` ${DATABASE_URL} ` })).toEqual({ driver: "postgres", databaseUrl: DATABASE_URL });
  });

  test.each([[undefined], [""], ["mysql://basis:hunter2-password@db/basis"], ["hunter2-password"]])(
    "postgres without a postgres:// BASIS_DATABASE_URL (%p) fails clearly without quoting it",
    (url) => {
      const error = failure(() => resolveStoreDriver({ BASIS_STORE_DRIVER: "postgres", BASIS_DATABASE_URL: url }));
      expect(error.code).toBe("database_url_malformed");
      expect(error.exitCode).toBe(2);
      expect(`${error.message} ${error.hint}`).not.toContain("hunter2");
    },
  );

  test("a database URL without the postgres driver is refused, not ignored", () => {
    const error = failure(() => resolveStoreDriver({ BASIS_DATABASE_URL: DATABASE_URL }));
    expect(error.code).toBe("store_driver_mismatch");
    expect(`${error.message} ${error.hint}`).not.toContain("hunter2");
  });

  test("refuses an unknown driver", () => {
    expect(failure(() => resolveStoreDriver({ BASIS_STORE_DRIVER: "mysql" })).code).toBe("store_driver_unknown");
  });
});

describe("parseHeartbeatWindow", () => {
  test("defaults to 90 seconds", () => {
    expect(parseHeartbeatWindow(undefined)).toBe(DEFAULT_HEARTBEAT_WINDOW_MS);
    expect(parseHeartbeatWindow(" ")).toBe(90_000);
  });

  test("reads whole milliseconds", () => {
    expect(parseHeartbeatWindow("30000")).toBe(30_000);
  });

  test.each([["abc"], ["999"], ["1.5e4"], ["-5000"], ["86400001"]])("refuses %p", (value) => {
    expect(failure(() => parseHeartbeatWindow(value)).code).toBe("heartbeat_window_malformed");
  });
});

describe("parseFirstTokenTimeout", () => {
  test("unset or empty is the default (undefined)", () => {
    expect(parseFirstTokenTimeout(undefined)).toBeUndefined();
    expect(parseFirstTokenTimeout(" ")).toBeUndefined();
  });
  test("takes whole milliseconds from 1 s to 1 h", () => {
    expect(parseFirstTokenTimeout("1000")).toBe(1_000);
    expect(parseFirstTokenTimeout("3600000")).toBe(3_600_000);
  });
  test.each([["999"], ["3600001"], ["30s"], ["-5"], ["1e4"]])("refuses %p", (value) => {
    const error = failure(() => parseFirstTokenTimeout(value));
    expect(error.code).toBe("first_token_timeout_malformed");
    expect(error.exitCode).toBe(2);
  });
});
