import { describe, expect, test } from "bun:test";
import { looksLikeMnemonic, looksLikePrivateKey, redact, secretKind } from "../../lib/core/secrets.ts";

describe("secretKind", () => {
  const cases: [string, string, ReturnType<typeof secretKind>][] = [
    ["a 64-hex key", "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", "private_key"],
    ["a 0x+64-hex key", "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", "private_key"],
    ["a 12-word phrase", "legal winner thank year wave sausage worth useful legal winner thank yellow", "mnemonic"],
    ["a 24-word phrase, extra spaces", " legal winner thank year wave sausage worth useful legal winner thank yellow  legal winner thank year wave sausage worth useful legal winner thank yellow ", "mnemonic"],
    ["a public address", "0x52908400098527886e0f7030069857d2e4169ee7", undefined],
    ["11 words", "legal winner thank year wave sausage worth useful legal winner thank", undefined],
    ["a sentence with digits", "run 12 jobs on the gpu box now please and then stop it ok", undefined],
  ];
  for (const [name, value, kind] of cases) test(`classifies ${name}`, () => expect(secretKind(value)).toBe(kind));
  test("the shape checks stop at the exact lengths", () => {
    expect(looksLikePrivateKey("ab".repeat(32))).toBe(true);
    expect(looksLikePrivateKey("ab".repeat(31))).toBe(false);
    expect(looksLikePrivateKey(`0x${"ab".repeat(33)}`)).toBe(false);
    const words = "legal winner thank year wave sausage worth useful legal winner thank yellow".split(" ");
    expect(looksLikeMnemonic([...words, "wave"].join(" "))).toBe(false);
    expect(looksLikeMnemonic([...words, "wave", "legal", "thank"].join(" "))).toBe(true);
  });
});
describe("redact", () => {
  test("replaces every occurrence of a secret and ignores empty ones", () => {
    expect(redact("key sk-abcdef and sk-abcdef again", ["sk-abcdef", undefined, ""])).toBe("key [redacted] and [redacted] again");
  });
});
