/**
 * The env contract end to end: for every numeric variable of both programs, read from the
 * tables in lib/core/env-schema.ts (so a new one is covered without editing this file), the
 * compiled binary refuses a bad value at start: exit 2, the variable named, the value never
 * echoed. Were a value accepted, `start` would keep retrying its orchestrator and `serve` would
 * keep listening until `run` kills it, and the exit code would not be 2.
 */
import { describe, expect, test } from "bun:test";
import { type EnvSchema, type EnvVar, ORCHESTRATOR_ENV, WORKER_ENV } from "../../lib/core/env-schema.ts";
import { CANARY_BIN, requireBinaries, run, WORKER_BIN } from "../helpers/binaries.ts";
import { WALLET } from "../helpers/harness.ts";

requireBinaries();

interface Program {
  argv: string[];
  /** A setting that starts the program were the variable under test fine. */
  env: Record<string, string>;
  table: EnvSchema;
}

const PROGRAMS: Record<string, Program> = {
  // Port 9 (discard) on loopback: nothing answers there, so a start that got past the env check would retry, not exit.
  "basis-worker start": { argv: [WORKER_BIN, "start"], env: { BASIS_WORKER_WALLET: WALLET, BASIS_ORCHESTRATOR_URL: "ws://127.0.0.1:9" }, table: WORKER_ENV },
  "basis-canary serve": { argv: [CANARY_BIN, "serve"], env: { PORT: "0" }, table: ORCHESTRATOR_ENV },
};

function badValues(range: { min: number; max: number }): string[] {
  const values = ["abc", "12ms", "1.5", "-1", String(range.max + 1)];
  if (range.min > 0) values.push(String(range.min - 1));
  return values;
}

for (const [program, spec] of Object.entries(PROGRAMS)) {
  const numeric = Object.entries(spec.table).filter((entry): entry is [string, EnvVar<unknown> & { range: { min: number; max: number } }] => entry[1].range !== undefined);
  describe(`${program} refuses a bad numeric variable at start`, () => {
    test("the table has numeric variables to check", () => {
      expect(numeric.length).toBeGreaterThan(0);
    });
    for (const [name, variable] of numeric) {
      test(`${name} (${variable.expected})`, async () => {
        for (const value of badValues(variable.range)) {
          const result = await run(spec.argv, { ...spec.env, [name]: value }, 15_000);
          const output = result.stdout + result.stderr;
          expect({ value, code: result.code }).toEqual({ value, code: 2 });
          expect(result.stderr).toContain(`error [env_invalid]: ${name} must be ${variable.expected}.`);
          if (value.length > 2) expect(output).not.toContain(value);
        }
      }, 60_000);
    }
  });
}
