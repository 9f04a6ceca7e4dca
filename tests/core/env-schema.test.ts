import { describe, expect, test } from "bun:test";
import { type EnvVar, ORCHESTRATOR_ENV, readEnv, readEnvVar, SECRET_ENV_NAMES, WORKER_ENV } from "../../lib/core/env-schema.ts";
import { catchBasisError as caught } from "../helpers/errors.ts";

const KEY = `0x${"ab".repeat(32)}`;
const TABLES = { worker: WORKER_ENV, orchestrator: ORCHESTRATOR_ENV } as const;

describe("the env tables", () => {
  test("every name is a BASIS_* variable, or one of the few conventional ones", () => {
    for (const table of Object.values(TABLES)) {
      for (const name of Object.keys(table)) expect([name, /^(BASIS_[A-Z0-9_]+|PORT|INTERNAL_API_SECRET)$/.test(name)]).toEqual([name, true]);
    }
  });

  test("a secret has no default, and names that look secret are marked secret", () => {
    for (const table of Object.values(TABLES)) {
      for (const [name, spec] of Object.entries(table) as [string, EnvVar<unknown>][]) {
        if (spec.secret) expect([name, spec.fallback]).toEqual([name, undefined]);
        if (/(TOKEN|SECRET|API_KEY|AUTH_KEY|PRIVATE_KEY|DATABASE_URL)S?$/.test(name)) expect([name, spec.secret]).toEqual([name, true]);
      }
    }
    expect(SECRET_ENV_NAMES).toContain("BASIS_WORKER_TOKEN");
    expect(SECRET_ENV_NAMES).toContain("INTERNAL_API_SECRET");
    expect(SECRET_ENV_NAMES).toContain("BASIS_DATABASE_URL");
  });

  test("a numeric default lies inside its own range", () => {
    for (const table of Object.values(TABLES)) {
      for (const [name, spec] of Object.entries(table) as [string, EnvVar<unknown>][]) {
        if (!spec.range || spec.fallback === undefined) continue;
        expect([name, spec.range.min <= (spec.fallback as number) && (spec.fallback as number) <= spec.range.max]).toEqual([name, true]);
      }
    }
  });
});

describe("readEnv", () => {
  test("unset and blank mean the default; values are trimmed and typed", () => {
    const env = readEnv(WORKER_ENV, { BASIS_WORKER_CONCURRENCY: " 4 ", BASIS_HEARTBEAT_MS: "", BASIS_LOG_LEVEL: "DEBUG" });
    expect(env.BASIS_WORKER_CONCURRENCY).toBe(4);
    expect(env.BASIS_HEARTBEAT_MS).toBe(30_000);
    expect(env.BASIS_LOG_LEVEL).toBe("debug");
    expect(env.BASIS_WORKER_TOKEN).toBeUndefined();
    expect(env.BASIS_OLLAMA_URL).toBe("http://127.0.0.1:11434");
  });

  test.each([
    ["BASIS_JOB_TIMEOUT_MS", "abc", "a whole number of milliseconds from 1 to 2147483647"],
    ["BASIS_JOB_TIMEOUT_MS", "0", "a whole number of milliseconds from 1 to 2147483647"],
    ["BASIS_JOB_TIMEOUT_MS", "2147483648", "a whole number of milliseconds from 1 to 2147483647"],
    ["BASIS_WORKER_CONCURRENCY", "1.5", "a whole number from 1 to 1024"],
    ["BASIS_LOG_LEVEL", "loud", "debug, info or quiet"],
    ["BASIS_OLLAMA_URL", "localhost:11434 ", "an http or https URL"],
    ["BASIS_VLLM_URL", "ftp://gpu-box", "an http or https URL"],
  ])("%s=%p is refused with exit 2, naming the variable and what it expects, never the value", (name, value, expected) => {
    const error = caught(() => readEnv(WORKER_ENV, { [name]: value }));
    expect(error.code).toBe("env_invalid");
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(`${name} must be ${expected}.`);
    if (value.trim().length > 3) expect(JSON.stringify(error.toJSON())).not.toContain(value.trim());
  });

  test("a backend URL may carry credentials for a reverse proxy (they are never printed by the runtimes)", () => {
    expect(readEnv(WORKER_ENV, { BASIS_OLLAMA_URL: "https://op:pw@proxy.example/ollama" }).BASIS_OLLAMA_URL).toBe("https://op:pw@proxy.example/ollama");
  });

  test("a key in a non-secret variable is refused as a secret and not echoed; a secret variable may hold one", () => {
    const error = caught(() => readEnv(WORKER_ENV, { BASIS_OLLAMA_MODEL: KEY }));
    expect(error.code).toBe("secret_refused");
    expect(error.message).not.toContain("abab");
    expect(readEnv(WORKER_ENV, { BASIS_WORKER_AUTH_KEY: KEY }).BASIS_WORKER_AUTH_KEY).toBe(KEY);
  });

  test("a domain parser keeps its own code", () => {
    expect(caught(() => readEnv(WORKER_ENV, { BASIS_WORKER_RUNTIME: "tgi" })).code).toBe("runtime_unknown");
    expect(caught(() => readEnv(WORKER_ENV, { BASIS_WORKER_WALLET: "0x1234" })).code).toBe("wallet_malformed");
    expect(caught(() => readEnv(WORKER_ENV, { BASIS_ORCHESTRATOR_URL: "ws://u:p@h" })).code).toBe("orchestrator_url_malformed");
  });

  test("the hint names the default of a plain variable", () => {
    expect(caught(() => readEnvVar("BASIS_HEARTBEAT_MS", WORKER_ENV.BASIS_HEARTBEAT_MS, "soon")).hint).toBe("Fix BASIS_HEARTBEAT_MS, or unset it for the default (30000).");
  });
});

describe("docs/ENV.md", () => {
  test("has a row for every variable of each program, in that program's section", async () => {
    const doc = await Bun.file(new URL("../../docs/ENV.md", import.meta.url)).text();
    const sections = { worker: doc.split("## basis-worker")[1]?.split("\n## ")[0] ?? "", orchestrator: doc.split("## basis-canary serve")[1]?.split("\n## ")[0] ?? "" };
    for (const [program, table] of Object.entries(TABLES) as [keyof typeof TABLES, Record<string, EnvVar<unknown>>][]) {
      for (const [name, spec] of Object.entries(table)) {
        expect([program, name, sections[program].includes(`| \`${name}\` | ${spec.expected} |`)]).toEqual([program, name, true]);
      }
    }
  });
});
