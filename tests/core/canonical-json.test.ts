import { describe, expect, test } from "bun:test";
import { canonicalJson, canonicalOfferMessage } from "../../lib/core/canonical-json.ts";
import { BasisError } from "../../lib/core/errors.ts";

describe("canonicalJson", () => {
  test("sorts keys at every depth and writes no whitespace", () => {
    const value = { b: 1, a: { d: [3, { z: true, y: null }], c: "x" } };
    expect(canonicalJson(value)).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  });

  test("sorts keys by UTF-16 code unit, so upper case comes before lower case", () => {
    expect(canonicalJson({ b: 1, B: 2, a: 3, _: 4, "10": 5, "9": 6 })).toBe('{"10":5,"9":6,"B":2,"_":4,"a":3,"b":1}');
  });

  test("keeps array order", () => {
    expect(canonicalJson([3, 1, 2])).toBe("[3,1,2]");
  });

  test("writes strings and numbers exactly as JSON.stringify does", () => {
    const text = 'quote " backslash \\ newline \n tab \t unicode é 😀 control \u0001';
    expect(canonicalJson(text)).toBe(JSON.stringify(text));
    for (const n of [0, -0, 1.5, 1e21, 123456789012, -7]) expect(canonicalJson(n)).toBe(JSON.stringify(n));
  });

  test("gives the same text whatever order the keys were inserted in", () => {
    expect(canonicalJson({ x: 1, y: { p: 1, q: 2 } })).toBe(canonicalJson({ y: { q: 2, p: 1 }, x: 1 }));
  });

  test("parses back to an equal value", () => {
    const value = { models: [{ id: "m", price: "460000000" }], n: 3, ok: false };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });

  const refused: [string, unknown][] = [
    ["NaN", Number.NaN],
    ["Infinity", { a: Number.POSITIVE_INFINITY }],
    ["undefined member", { a: undefined }],
    ["undefined in an array", [1, undefined]],
    ["a function", { f: () => 1 }],
    ["a bigint", { n: 1n }],
    ["a symbol", Symbol("s")],
    ["a Date", { when: new Date(0) }],
    ["a Map", new Map()],
  ];
  for (const [name, value] of refused) {
    test(`refuses ${name}`, () => {
      expect(() => canonicalJson(value)).toThrow(BasisError);
    });
  }

  test("refuses a circular reference instead of overflowing the stack", () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => canonicalJson(loop)).toThrow(/circular/);
  });

  test("accepts the same object twice when it is not a cycle", () => {
    const shared = { a: 1 };
    expect(canonicalJson({ x: shared, y: shared })).toBe('{"x":{"a":1},"y":{"a":1}}');
  });
});

describe("canonicalOfferMessage", () => {
  test("leaves out the signature member", () => {
    expect(canonicalOfferMessage({ b: 1, signature: "0xabc", a: 2 })).toBe('{"a":2,"b":1}');
  });

  test("gives the same message for the signed and the unsigned manifest", () => {
    const unsigned = { worker_id: "w", nonce: "00" };
    expect(canonicalOfferMessage({ ...unsigned, signature: "0x01" })).toBe(canonicalOfferMessage(unsigned));
  });

  test("does not change the manifest it is given", () => {
    const manifest = { a: 1, signature: "0x01" };
    canonicalOfferMessage(manifest);
    expect(manifest).toEqual({ a: 1, signature: "0x01" });
  });
});
