import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseDotenv } from "../../lib/core/dotenv.ts";
import { describeTemplate, isSecretEnvName, renderWorkerEnv, WORKER_ENV_NAMES } from "../../lib/core/env-template.ts";
import { SECRET_ENV_NAMES } from "../../lib/core/env-schema.ts";
import { catchBasisError } from "../helpers/errors.ts";

const TEMPLATE = readFileSync(join(import.meta.dir, "../../templates/worker.env.example"), "utf8");
const WALLET = "0x52908400098527886E0F7030069857D2E4169EE7";
const PRIVATE_KEY = `0x${"4c0883a69102937d6231471b5dbb6204fe512961708279f2e3e8a5d4b8e3e1a9"}`;
const MNEMONIC = "abandon ability able about above absent absorb abstract absurd abuse access accident";

describe("worker.env.example", () => {
  test("lists every worker variable exactly once, in the documented order", () => {
    const keys = TEMPLATE.split("\n").flatMap((line) => /^([A-Z_]+)=/.exec(line)?.[1] ?? []);
    expect(keys).toEqual([...WORKER_ENV_NAMES]);
  });

  test("documents each variable with a comment on the line above", () => {
    const lines = TEMPLATE.split("\n");
    for (const name of WORKER_ENV_NAMES) {
      const index = lines.findIndex((line) => line.startsWith(`${name}=`));
      expect(lines[index - 1]).toMatch(/^# \S/);
    }
  });

  test("leaves every secret blank and says the operator fills it in on the host", () => {
    const values = parseDotenv(TEMPLATE, "worker.env.example");
    const lines = TEMPLATE.split("\n");
    for (const name of WORKER_ENV_NAMES.filter(isSecretEnvName)) {
      expect(values[name]).toBe("");
      const comment = lines[lines.findIndex((line) => line.startsWith(`${name}=`)) - 1] ?? "";
      expect(comment).toContain("SECRET");
      expect(comment).toContain("never print, paste or commit");
    }
  });
});

describe("renderWorkerEnv", () => {
  test("round-trips the given values through parseDotenv and keeps the rest of the template", () => {
    const values = {
      BASIS_WORKER_WALLET: WALLET,
      BASIS_WORKER_ID: "gpu-7a1c",
      BASIS_WORKER_RUNTIME: "ollama",
      BASIS_WORKER_MODELS: "basis-default,basis-small",
      BASIS_ORCHESTRATOR_URL: "wss://orchestrator.example:8787/ws",
      BASIS_OLLAMA_MODEL: "llama3.2:latest",
      BASIS_OPENAI_MODEL: 'name with spaces, "quotes" # and a hash \\ and a backslash',
    };
    const rendered = renderWorkerEnv(TEMPLATE, values);
    const parsed = parseDotenv(rendered, "worker.env");
    const original = parseDotenv(TEMPLATE, "worker.env.example");
    expect(parsed).toEqual({ ...original, ...values });
  });

  test("keeps every comment and line in place", () => {
    const rendered = renderWorkerEnv(TEMPLATE, { BASIS_WORKER_ID: "gpu-1" });
    const before = TEMPLATE.split("\n");
    const after = rendered.split("\n");
    expect(after).toHaveLength(before.length);
    after.forEach((line, index) => {
      if (!line.startsWith("BASIS_WORKER_ID=")) expect(line).toBe(before[index] as string);
    });
  });

  test("keeps a trailing comment and an export prefix", () => {
    const rendered = renderWorkerEnv('export BASIS_WORKER_ID="old" # shown on basis.watch\r\nX=1', { BASIS_WORKER_ID: "new one" });
    expect(rendered).toBe('export BASIS_WORKER_ID="new one" # shown on basis.watch\r\nX=1');
    expect(parseDotenv(rendered).BASIS_WORKER_ID).toBe("new one");
  });

  test("accepts a blank secret, which is how it must stay", () => {
    const rendered = renderWorkerEnv(TEMPLATE, { BASIS_WORKER_TOKEN: "" });
    expect(parseDotenv(rendered).BASIS_WORKER_TOKEN).toBe("");
  });

  test.each([...SECRET_ENV_NAMES.filter((name) => TEMPLATE.includes(`${name}=`)), "BASIS_SOME_NEW_API_KEY"])(
    "refuses to write a value for the secret %s, without echoing it",
    (name) => {
      const error = catchBasisError(() => renderWorkerEnv(`${TEMPLATE}\n${name}=\n`, { [name]: "tok-9f8e7d6c5b4a" }));
      expect(error).toMatchObject({ code: "secret_not_written", exitCode: 2 });
      expect(JSON.stringify(error.toJSON())).not.toContain("tok-9f8e7d6c5b4a");
    },
  );

  test.each([
    ["a private key as the wallet", "BASIS_WORKER_WALLET", PRIVATE_KEY, "secret_refused"],
    ["a seed phrase as a model", "BASIS_OLLAMA_MODEL", MNEMONIC, "secret_refused"],
    ["a control character", "BASIS_WORKER_ID", "gpu\u00001", "env_value_invalid"],
  ])("refuses %s and never echoes it", (_, key, value, code) => {
    const error = catchBasisError(() => renderWorkerEnv(TEMPLATE, { [key]: value }));
    expect(error.code).toBe(code);
    expect(JSON.stringify(error.toJSON())).not.toContain(value);
  });

  test("refuses a key the template does not have", () => {
    const error = catchBasisError(() => renderWorkerEnv(TEMPLATE, { BASIS_WORKER_WALET: WALLET }));
    expect(error.code).toBe("env_template_key_missing");
  });
});

describe("isSecretEnvName", () => {
  test.each([
    ["BASIS_WORKER_TOKEN", true],
    ["BASIS_WORKER_AUTH_KEY", true],
    ["BASIS_VLLM_API_KEY", true],
    ["BASIS_OPENAI_API_KEY", true],
    ["INTERNAL_API_SECRET", true],
    ["BASIS_WORKER_WALLET", false],
    ["BASIS_WORKER_ID", false],
    ["BASIS_OLLAMA_URL", false],
  ])("%s -> %p", (name, secret) => {
    expect(isSecretEnvName(name)).toBe(secret);
  });
});

describe("describeTemplate", () => {
  test("pairs each variable with the comment above it, in order", () => {
    const pairs = describeTemplate("# header\n\n# The wallet.\nBASIS_WORKER_WALLET=\n# Two\n# lines.\nBASIS_WORKER_ID=x\nNO_COMMENT=1\n");
    expect(pairs).toEqual([
      ["BASIS_WORKER_WALLET", "The wallet."],
      ["BASIS_WORKER_ID", "Two lines."],
      ["NO_COMMENT", ""],
    ]);
  });
});
