/**
 * Store and presence settings for `basis-canary serve`, read once from the environment. A bad
 * store setting fails at start rather than silently falling back to a store the operator did
 * not choose.
 */
import { BasisError } from "../core/errors.ts";
import { DEFAULT_HEARTBEAT_WINDOW_MS } from "./presence.ts";

type Env = Readonly<Record<string, string | undefined>>;

export type StoreSetting = { driver: "sqlite" } | { driver: "postgres"; databaseUrl: string };

/** Returns the store to open; never quotes BASIS_DATABASE_URL, which may carry a password. */
export function resolveStoreDriver(env: Env): StoreSetting {
  const driver = (env.BASIS_STORE_DRIVER ?? "").trim().toLowerCase();
  const url = (env.BASIS_DATABASE_URL ?? "").trim();
  if (driver === "" || driver === "sqlite") {
    if (url !== "") {
      throw new BasisError("store_driver_mismatch", "BASIS_DATABASE_URL is set but BASIS_STORE_DRIVER is not postgres.", {
        exitCode: 2,
        hint: "Set BASIS_STORE_DRIVER=postgres to use that database, or unset BASIS_DATABASE_URL to use SQLite.",
      });
    }
    return { driver: "sqlite" };
  }
  if (driver === "postgres" || driver === "postgresql") {
    if (!/^postgres(ql)?:\/\/[^\s]+$/i.test(url)) {
      throw new BasisError("database_url_malformed", "BASIS_STORE_DRIVER=postgres needs BASIS_DATABASE_URL as postgres://user:password@host:port/database.", {
        exitCode: 2,
        hint: "Set BASIS_DATABASE_URL (it is never printed), or unset BASIS_STORE_DRIVER to use SQLite.",
      });
    }
    return { driver: "postgres", databaseUrl: url };
  }
  throw new BasisError("store_driver_unknown", "BASIS_STORE_DRIVER must be sqlite or postgres.", {
    exitCode: 2,
    hint: "Unset BASIS_STORE_DRIVER to use SQLite.",
  });
}

/** A whole number of milliseconds from `min` to `max`, or undefined when unset; anything else fails at start. */
function parseMillis(name: string, code: string, value: string | undefined, min: number, max: number): number | undefined {
  const text = (value ?? "").trim();
  if (text === "") return undefined;
  if (!/^\d{1,9}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new BasisError(code, `${name} must be a whole number of milliseconds from ${min} to ${max}.`, { exitCode: 2 });
  }
  return Number(text);
}

/** BASIS_HEARTBEAT_WINDOW_MS: how long an HTTP heartbeat keeps a worker online (1 s to 1 day). */
export function parseHeartbeatWindow(value: string | undefined): number {
  return parseMillis("BASIS_HEARTBEAT_WINDOW_MS", "heartbeat_window_malformed", value, 1_000, 86_400_000) ?? DEFAULT_HEARTBEAT_WINDOW_MS;
}

/** BASIS_SPOT_CHECK_INTERVAL_MS: mean interval between spot checks of a worker (0 turns them off; else 1 s to 1 day). */
export function parseSpotCheckInterval(value: string | undefined, fallback: number): number {
  if ((value ?? "").trim() === "0") return 0;
  return parseMillis("BASIS_SPOT_CHECK_INTERVAL_MS", "spot_check_interval_malformed", value, 1_000, 86_400_000) ?? fallback;
}

/** BASIS_FIRST_TOKEN_TIMEOUT_MS: a job with no token after this long is tried on another worker (1 s to 1 hour). */
export function parseFirstTokenTimeout(value: string | undefined): number | undefined {
  return parseMillis("BASIS_FIRST_TOKEN_TIMEOUT_MS", "first_token_timeout_malformed", value, 1_000, 3_600_000);
}
