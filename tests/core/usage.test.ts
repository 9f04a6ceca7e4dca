import { describe, expect, test } from "bun:test";
import { checkFlags, closestName, editDistance, secretArgumentIndex, usageLine } from "../../lib/core/usage.ts";
import { catchBasisError } from "../helpers/errors.ts";

const KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
const DEFS = {
  "worker-id": { type: "string", valueHint: "id", required: true },
  "env-file": { type: "string", valueHint: "path" },
  json: { type: "boolean" },
} as const;

describe("closestName", () => {
  test("a swapped pair of letters is one edit", () => expect(editDistance("jsno", "json")).toBe(1));
  test("suggests near misses and unique prefixes, nothing for strangers", () => {
    expect(closestName("jsno", Object.keys(DEFS))).toBe("json");
    expect(closestName("env-fil", Object.keys(DEFS))).toBe("env-file");
    expect(closestName("work", Object.keys(DEFS))).toBe("worker-id");
    expect(closestName("stauts", ["status", "start", "stop"])).toBe("status");
    expect(closestName("banana", Object.keys(DEFS))).toBeUndefined();
  });
});

describe("checkFlags", () => {
  test("normalises values to --name=value so a later flag is never read as one", () => {
    expect(checkFlags(["--worker-id", "gpu-1", "--json", "--env-file=./w.env"], DEFS)).toEqual(["--worker-id=gpu-1", "--json", "--env-file=./w.env"]);
    expect(checkFlags(["--no-json", "--verbose", "-h"], DEFS)).toEqual(["--no-json", "--verbose", "--help"]);
  });

  const refused: [string, string[], string][] = [
    ["an unknown flag", ["--jsno"], "usage_unknown_flag"],
    ["a value missing at the end", ["--worker-id"], "usage_missing_value"],
    ["a value missing before another flag", ["--worker-id", "--json"], "usage_missing_value"],
    ["an empty value", ["--worker-id="], "usage_missing_value"],
    ["a flag given twice", ["--json", "--json"], "usage_repeated_flag"],
    ["a value for a switch", ["--json=yes"], "usage_bad_value"],
    ["a stray word", ["gpu-1"], "usage_unexpected_argument"],
    ["a one-dash flag", ["-json"], "usage_unexpected_argument"],
    ["a key as a stray word", [KEY], "secret_refused"],
    ["a key as a flag's value", ["--worker-id", `0x${KEY}`], "secret_refused"],
    ["an unquoted seed phrase", "legal winner thank year wave sausage worth useful legal winner thank yellow".split(" "), "secret_refused"],
  ];
  for (const [name, argv, code] of refused) {
    test(`refuses ${name} (exit 2), never echoing a secret`, () => {
      const error = catchBasisError(() => checkFlags(argv, DEFS));
      expect(error.code).toBe(code);
      expect(error.exitCode).toBe(2);
      expect(`${error.message} ${error.hint}`).not.toContain(KEY);
      expect(`${error.message} ${error.hint}`).not.toContain("sausage");
    });
  }

  test("names the near miss", () => expect(catchBasisError(() => checkFlags(["--jsno"], DEFS)).hint).toBe("did you mean --json?"));
});

describe("secretArgumentIndex", () => {
  test("finds a key inside --flag=value and a run of 12 words", () => {
    expect(secretArgumentIndex(["--x", `--key=${KEY}`])).toBe(1);
    expect(secretArgumentIndex(["status", "--json"])).toBeUndefined();
  });
});

describe("usageLine", () => {
  test("required flags bare, the others in brackets", () => {
    expect(usageLine("basis-worker status", DEFS)).toBe("usage: basis-worker status --worker-id <id> [--env-file <path>] [--json]");
    expect(usageLine("basis-worker", {}, ["setup", "start"])).toBe("usage: basis-worker <setup|start>");
  });
});
