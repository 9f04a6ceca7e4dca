/** The shared body reader of the Basis API routes: bounded depth and a linear secret scan. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { findSecret } from "../../../lib/orchestrator/routes/_api.ts";
import type { Orchestrator } from "../../../lib/orchestrator/server.ts";
import { WALLET } from "../../helpers/harness.ts";
import { call, registration, startApi } from "../_helpers.ts";

const KEY_64 = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
const PHRASE_12 = "abandon ability able about above absent absorb abstract absurd abuse access accident";

describe("findSecret", () => {
  test.each([
    ["a plain body", { a: 1, b: ["x", { c: "y" }] }, undefined],
    ["a key as the whole body", KEY_64, "body"],
    ["a key in a field", { worker_wallet: KEY_64 }, "worker_wallet"],
    ["a phrase deep in arrays and objects", { a: [{ b: [0, PHRASE_12] }] }, "a[0].b[1]"],
    ["a secret-shaped key names its object", { a: { [KEY_64]: 1 } }, "a"],
    ["a secret-shaped key at the top", { [KEY_64]: 1 }, "body"],
  ])("%s", (_name, value, expected) => {
    expect(findSecret(value)).toBe(expected);
  });

  test("reports the first secret in reading order", () => {
    expect(findSecret({ first: [KEY_64], second: KEY_64 })).toBe("first[0]");
    expect(findSecret({ first: { [KEY_64]: PHRASE_12 }, second: KEY_64 })).toBe("first");
  });

  test("walks a value nested 100,000 deep without recursion", () => {
    let value: unknown = KEY_64;
    for (let i = 0; i < 100_000; i++) value = [value];
    expect(findSecret(value)).toBe(`${"[0]".repeat(100_000)}`);
  });
});

describe("readApiBody", () => {
  let api: Orchestrator;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => {
    await api.close();
  });

  test.each([
    ["register", "/api/workers/register"],
    ["heartbeat", "/api/workers/heartbeat"],
    ["prices", "/api/workers/prices"],
    ["dispatch", "/v1/dispatch"],
  ])("%s answers 400 body_too_deep to a body nested 500,000 deep (a megabyte), and keeps serving", async (_name, path) => {
    const answer = await call(api, "POST", path, `${"[".repeat(500_000)}${"]".repeat(500_000)}`);
    expect(answer.status).toBe(400);
    // The Basis API's flat error shape, or OpenAI's on /v1/*.
    const error = answer.body.error as string | { code: string };
    expect(typeof error === "string" ? error : error.code).toBe("body_too_deep");
    expect(answer.text).not.toContain("[[");
    expect((await call(api, "GET", "/healthz")).status).toBe(200);
  });

  test("a body nested within the bound is read and judged as usual", async () => {
    let deep: unknown = "x";
    for (let i = 0; i < 60; i++) deep = { deep };
    const answer = await call(api, "POST", "/api/workers/register", { ...registration("gpu-1", WALLET), extra: deep });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: "invalid_request", field: "extra" });
  });
});
