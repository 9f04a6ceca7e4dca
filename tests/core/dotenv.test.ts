import { describe, expect, test } from "bun:test";
import { formatDotenvValue, parseDotenv } from "../../lib/core/dotenv.ts";

describe("parseDotenv", () => {
  test("reads plain, exported, quoted and commented values", () => {
    const text = [
      "# comment",
      "A=1",
      "export B = two words # trailing comment",
      `C="quoted # not a comment\\nnext"`,
      "D='single $HOME'",
      "E=",
      "",
    ].join("\n");
    expect(parseDotenv(text)).toEqual({ A: "1", B: "two words", C: "quoted # not a comment\nnext", D: "single $HOME", E: "" });
  });
  test("names the line of a syntax error", () => {
    expect(() => parseDotenv("A=1\nnot a pair\n", "w.env")).toThrow("w.env:2");
  });
  test("refuses an unclosed quote", () => {
    expect(() => parseDotenv('A="open\n')).toThrow("unclosed quote");
  });
});

describe("formatDotenvValue", () => {
  for (const value of ["plain", "", "two words", 'with "quotes"', "back\\slash", "line\nbreak", "hash # here", "ws://h:8787/x"]) {
    test(`round-trips ${JSON.stringify(value)}`, () => {
      expect(parseDotenv(`K=${formatDotenvValue(value)}`).K).toBe(value);
    });
  }
});
