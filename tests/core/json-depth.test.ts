import { describe, expect, test } from "bun:test";
import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from "../../lib/core/json-depth.ts";

const nested = (depth: number, open = "[", close = "]") => open.repeat(depth) + close.repeat(depth);

describe("jsonNestsDeeperThan", () => {
  test.each([
    ["a flat object", '{"a":1,"b":"x"}', 1, false],
    ["an array at the limit", nested(3), 3, false],
    ["an array one past the limit", nested(4), 3, true],
    ["objects one past the limit", '{"a":{"b":{"c":{}}}}', 3, true],
    ["brackets inside strings", `{"a":"${"[".repeat(100)}"}`, 1, false],
    ["an escaped quote inside a string", `{"a":"\\"[[[["}`, 1, false],
    ["an escaped backslash before the closing quote", `{"a":"\\\\","b":[[1]]}`, 2, true],
    ["siblings that never nest deep", "[[1],[2],[3],[4]]", 2, false],
  ])("%s", (_name, text, max, expected) => {
    expect(jsonNestsDeeperThan(text, max)).toBe(expected);
  });

  test("agrees with the depth JSON.parse sees", () => {
    const text = JSON.stringify({ messages: [{ role: "user", content: [{ type: "text", text: "[{" }] }] });
    expect(jsonNestsDeeperThan(text, 5)).toBe(false);
    expect(jsonNestsDeeperThan(text, 4)).toBe(true);
  });

  test("scans a megabyte nested 500,000 deep in one pass", () => {
    const text = nested(500_000);
    expect(jsonNestsDeeperThan(text, MAX_JSON_DEPTH)).toBe(true);
    expect(jsonNestsDeeperThan(`"${text}"`, MAX_JSON_DEPTH)).toBe(false);
  });
});
