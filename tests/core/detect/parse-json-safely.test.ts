import { describe, expect, test } from "bun:test";
import { parseJsonSafely } from "../../../lib/core/detect/parse-json-safely.ts";

describe("parseJsonSafely", () => {
  test("parses JSON", () => {
    expect(parseJsonSafely('{"version":"0.5.1"}')).toEqual({ version: "0.5.1" });
  });

  test.each([[""], ["<html>"], ["{"]])("returns undefined for %p", (text) => {
    expect(parseJsonSafely(text)).toBeUndefined();
  });
});
