import { describe, expect, test } from "bun:test";
import {
  GGML_TYPE_F16,
  GGML_TYPE_F32,
  GGUF_MAGIC,
  GgufFormatError,
  GgufType,
  type GgufValue,
  metadataValue,
  readGguf,
  toHalfBits,
  writeGguf,
} from "../../scripts/gguf.ts";

const metadata = new Map<string, GgufValue>([
  ["general.architecture", { type: GgufType.STRING, value: "llama" }],
  ["u8", { type: GgufType.UINT8, value: 200 }],
  ["i8", { type: GgufType.INT8, value: -5 }],
  ["u16", { type: GgufType.UINT16, value: 65_000 }],
  ["i16", { type: GgufType.INT16, value: -300 }],
  ["u32", { type: GgufType.UINT32, value: 4_000_000_000 }],
  ["i32", { type: GgufType.INT32, value: -70_000 }],
  ["f32", { type: GgufType.FLOAT32, value: 0.5 }],
  ["bool", { type: GgufType.BOOL, value: true }],
  ["u64", { type: GgufType.UINT64, value: 2n ** 40n }],
  ["i64", { type: GgufType.INT64, value: -(2n ** 40n) }],
  ["f64", { type: GgufType.FLOAT64, value: Math.PI }],
  ["utf8", { type: GgufType.STRING, value: "▁héllo 🙂" }],
  ["tokens", { type: GgufType.ARRAY, itemType: GgufType.STRING, items: ["<unk>", "<s>", "▁the"] }],
  ["types", { type: GgufType.ARRAY, itemType: GgufType.INT32, items: [2, 3, 1] }],
]);

describe("writeGguf / readGguf", () => {
  test("round-trips every metadata type and the tensor descriptions", () => {
    const a = new Float32Array([1, 2, 3, 4, 5, 6]);
    const b = new Float32Array([7]);
    const bytes = writeGguf(metadata, [
      { name: "a", dims: [3, 2], data: a },
      { name: "b", dims: [1], data: b },
    ]);
    const file = readGguf(bytes);
    expect(file.version).toBe(3);
    expect(file.metadata).toEqual(metadata);
    expect(file.tensors).toEqual([
      { name: "a", dims: [3, 2], ggmlType: GGML_TYPE_F32, offset: 0n },
      // 24 bytes of `a`, padded to the 32-byte alignment
      { name: "b", dims: [1], ggmlType: GGML_TYPE_F32, offset: 32n },
    ]);
    expect(metadataValue(file, "tokens")).toEqual(["<unk>", "<s>", "▁the"]);
    expect(metadataValue(file, "u8")).toBe(200);
    expect(metadataValue(file, "absent")).toBeUndefined();
  });

  test("puts tensor data at aligned offsets after the header, as llama.cpp reads it", () => {
    const data = new Float32Array([1.5, -2.25, 3]);
    const bytes = writeGguf(new Map(), [{ name: "t", dims: [3], data }]);
    expect(new DataView(bytes.buffer).getUint32(0, true)).toBe(GGUF_MAGIC);
    const dataStart = bytes.length - 32; // one tensor, padded to 32 bytes
    expect(dataStart % 32).toBe(0);
    expect(Array.from(new Float32Array(bytes.slice(dataStart, dataStart + 12).buffer))).toEqual([1.5, -2.25, 3]);
  });

  test("stores an f16 tensor as IEEE half floats, half the bytes", () => {
    const bytes = writeGguf(new Map(), [
      { name: "h", dims: [4], data: new Float32Array([1, -2, 0.5, 65504]), type: "f16" },
      { name: "f", dims: [1], data: new Float32Array([3]) },
    ]);
    const file = readGguf(bytes);
    expect(file.tensors.map((t) => [t.name, t.ggmlType, t.offset])).toEqual([
      ["h", GGML_TYPE_F16, 0n],
      ["f", GGML_TYPE_F32, 32n],
    ]);
    const dataStart = bytes.length - 64;
    expect(Array.from(new Uint16Array(bytes.slice(dataStart, dataStart + 8).buffer))).toEqual([0x3c00, 0xc000, 0x3800, 0x7bff]);
  });

  test("honours general.alignment", () => {
    const aligned = new Map<string, GgufValue>([["general.alignment", { type: GgufType.UINT32, value: 64 }]]);
    const bytes = writeGguf(aligned, [
      { name: "a", dims: [1], data: new Float32Array([1]) },
      { name: "b", dims: [1], data: new Float32Array([2]) },
    ]);
    expect(readGguf(bytes).tensors.map((t) => t.offset)).toEqual([0n, 64n]);
    expect(bytes.length % 64).toBe(0);
  });

  test("refuses a tensor whose dims do not match its data", () => {
    expect(() => writeGguf(new Map(), [{ name: "t", dims: [2, 2], data: new Float32Array(3) }])).toThrow(
      "tensor t: dims hold 4 values, data has 3",
    );
  });

  test.each([
    ["a file that is not GGUF", new TextEncoder().encode("PK\u0003\u0004 not a model"), "not a GGUF file"],
    ["a truncated file", writeGguf(metadata, []).slice(0, 40), "truncated GGUF file"],
    ["an empty file", new Uint8Array(0), "truncated GGUF file"],
  ])("rejects %s", (_name, bytes, message) => {
    expect(() => readGguf(bytes)).toThrow(GgufFormatError);
    expect(() => readGguf(bytes)).toThrow(message);
  });

  test("rejects an unsupported version", () => {
    const bytes = writeGguf(new Map(), []);
    new DataView(bytes.buffer).setUint32(4, 9, true);
    expect(() => readGguf(bytes)).toThrow("unsupported GGUF version 9");
  });
});

describe("toHalfBits", () => {
  test.each([
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-1.5, 0xbe00],
    [65504, 0x7bff],
    [65520, 0x7c00], // rounds up to infinity
    [1e9, 0x7c00],
    [Number.POSITIVE_INFINITY, 0x7c00],
    [2 ** -24, 0x0001], // the smallest subnormal
    [2 ** -26, 0x0000], // below half of it: zero
    [6.103515625e-5, 0x0400], // the smallest normal
    [1 + 2 ** -11, 0x3c00], // a tie rounds to even (down)
    [1 + 3 * 2 ** -11, 0x3c02], // a tie rounds to even (up)
  ])("%p -> %p", (value, bits) => {
    expect(toHalfBits(value)).toBe(bits);
  });

  test("keeps NaN a NaN", () => {
    const bits = toHalfBits(Number.NaN);
    expect(bits & 0x7c00).toBe(0x7c00);
    expect(bits & 0x3ff).not.toBe(0);
  });
});
