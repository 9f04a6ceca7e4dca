import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGML_TYPE_F16, type GgufFile, GgufType, type GgufValue, metadataValue, readGguf, writeGguf } from "../../scripts/gguf.ts";
import { ensureTinyModel, VOCAB_FILE } from "../../scripts/make-tiny-model.ts";
import { buildTinyModel, seededUniform, TINY_MODEL_DEFAULTS, tinyModelFileName } from "../../scripts/tiny-model.ts";
import { ROOT } from "../helpers/binaries.ts";

/** A vocab-only file shaped like llama.cpp's ggml-vocab-llama-spm.gguf, with 256 byte tokens. */
function vocabFile(): GgufFile {
  const tokens = ["<unk>", "<s>", "</s>", ...Array.from({ length: 256 }, (_, i) => `<0x${i.toString(16).toUpperCase().padStart(2, "0")}>`), "▁the", "▁a"];
  const types = [2, 3, 3, ...Array<number>(256).fill(6), 1, 1];
  const metadata = new Map<string, GgufValue>([
    ["general.architecture", { type: GgufType.STRING, value: "llama" }],
    ["llama.block_count", { type: GgufType.UINT32, value: 32 }],
    ["tokenizer.ggml.model", { type: GgufType.STRING, value: "llama" }],
    ["tokenizer.ggml.tokens", { type: GgufType.ARRAY, itemType: GgufType.STRING, items: tokens }],
    ["tokenizer.ggml.scores", { type: GgufType.ARRAY, itemType: GgufType.FLOAT32, items: tokens.map(() => 0) }],
    ["tokenizer.ggml.token_type", { type: GgufType.ARRAY, itemType: GgufType.INT32, items: types }],
    ["tokenizer.ggml.eos_token_id", { type: GgufType.UINT32, value: 2 }],
  ]);
  return readGguf(writeGguf(metadata, []));
}

const build = (seed = 42) => {
  const { metadata, tensors } = buildTinyModel(vocabFile(), { ...TINY_MODEL_DEFAULTS, seed });
  return writeGguf(metadata, tensors);
};

describe("buildTinyModel", () => {
  test("writes a llama model with the vocab's tokenizer and the hyper-parameters llama.cpp reads", () => {
    const file = readGguf(build());
    expect(metadataValue(file, "general.architecture")).toBe("llama");
    expect(metadataValue(file, "llama.block_count")).toBe(2);
    expect(metadataValue(file, "llama.embedding_length")).toBe(64);
    expect(metadataValue(file, "llama.attention.head_count")).toBe(4);
    expect(metadataValue(file, "llama.rope.dimension_count")).toBe(16);
    expect(metadataValue(file, "llama.vocab_size")).toBe(261);
    expect(metadataValue(file, "tokenizer.ggml.model")).toBe("llama");
    expect(metadataValue(file, "tokenizer.ggml.eos_token_id")).toBe(2);
    expect((metadataValue(file, "tokenizer.ggml.tokens") as string[]).slice(-2)).toEqual(["▁the", "▁a"]);
  });

  test("marks byte-fallback tokens normal and leaves control and unknown tokens as they were", () => {
    const types = metadataValue(readGguf(build()), "tokenizer.ggml.token_type") as number[];
    expect(types.slice(0, 3)).toEqual([2, 3, 3]);
    expect(types.filter((t) => t === 6)).toEqual([]);
    expect(types.slice(3).every((t) => t === 1)).toBe(true);
  });

  test("has every tensor of a 2-layer llama with ggml's dims, the two vocabulary-sized ones in F16", () => {
    const file = readGguf(build());
    const dims = Object.fromEntries(file.tensors.map((t) => [t.name, t.dims]));
    expect(dims["token_embd.weight"]).toEqual([64, 261]);
    expect(dims["output_norm.weight"]).toEqual([64]);
    expect(dims["output.weight"]).toEqual([64, 261]);
    const f16 = file.tensors.filter((t) => t.ggmlType === GGML_TYPE_F16).map((t) => t.name);
    expect(f16).toEqual(["token_embd.weight", "output.weight"]);
    for (const layer of [0, 1]) {
      expect(dims[`blk.${layer}.attn_q.weight`]).toEqual([64, 64]);
      expect(dims[`blk.${layer}.attn_k.weight`]).toEqual([64, 64]);
      expect(dims[`blk.${layer}.attn_v.weight`]).toEqual([64, 64]);
      expect(dims[`blk.${layer}.attn_output.weight`]).toEqual([64, 64]);
      expect(dims[`blk.${layer}.ffn_gate.weight`]).toEqual([64, 128]);
      expect(dims[`blk.${layer}.ffn_up.weight`]).toEqual([64, 128]);
      expect(dims[`blk.${layer}.ffn_down.weight`]).toEqual([128, 64]);
      expect(dims[`blk.${layer}.attn_norm.weight`]).toEqual([64]);
      expect(dims[`blk.${layer}.ffn_norm.weight`]).toEqual([64]);
    }
    expect(file.tensors).toHaveLength(3 + 2 * 9);
    expect(dims["blk.2.attn_q.weight"]).toBeUndefined();
  });

  test("is the same file, byte for byte, for the same seed, and a different one for another seed", () => {
    expect(Bun.hash(build(42))).toBe(Bun.hash(build(42)));
    expect(Bun.hash(build(7))).not.toBe(Bun.hash(build(42)));
  });

  test("refuses a vocab file without tokens and a width the heads do not divide", () => {
    const empty = readGguf(writeGguf(new Map(), []));
    expect(() => buildTinyModel(empty)).toThrow("no tokenizer.ggml.tokens");
    expect(() => buildTinyModel(vocabFile(), { ...TINY_MODEL_DEFAULTS, embedding: 66 })).toThrow("not a multiple of heads");
  });
});

describe("seededUniform", () => {
  test("repeats for a seed, stays in [0, 1) and spreads over it", () => {
    const a = seededUniform(1);
    const b = seededUniform(1);
    const values = Array.from({ length: 10_000 }, () => a());
    expect(Array.from({ length: 10_000 }, () => b())).toEqual(values);
    expect(values.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = values.reduce((s, x) => s + x, 0) / values.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
    expect(new Set(values).size).toBeGreaterThan(9_990);
  });
});

describe("make-tiny-model", () => {
  const cli = (...args: string[]) =>
    Bun.spawnSync([process.execPath, join(ROOT, "scripts", "make-tiny-model.ts"), ...args], { stdout: "pipe", stderr: "pipe" });

  test("writes the model into an engine folder once, then reuses it", () => {
    const dir = mkdtempSync(join(tmpdir(), "tiny-model-"));
    try {
      Bun.spawnSync(["mkdir", "-p", join(dir, "models")]);
      writeFileSync(join(dir, "models", VOCAB_FILE), writeGguf(vocabFile().metadata, []));
      const first = cli("--engine-dir", dir, "--seed", "7");
      expect(first.stderr.toString()).toBe("");
      expect(first.exitCode).toBe(0);
      const path = join(dir, "models", tinyModelFileName(7));
      expect(first.stdout.toString().trim()).toBe(path);
      expect(Bun.hash(readFileSync(path))).toBe(Bun.hash(build(7)));
      const written = statSync(path).mtimeMs;
      expect(ensureTinyModel(dir, 7)).toBe(path);
      expect(statSync(path).mtimeMs).toBe(written);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    [["--vocab", "v.gguf"], 2, "give either --vocab and --out, or --engine-dir"],
    [["--engine-dir", "d", "--out", "x"], 2, "give either --vocab and --out, or --engine-dir"],
    [["--vocab", "v", "--out", "o", "--seed=-1"], 2, "--seed must be an integer"],
    [["--vocab", "v", "--out", "o", "--seed", "1.5"], 2, "--seed must be an integer"],
    [["--bogus"], 2, "Unknown option"],
    [["--vocab", "/nonexistent/vocab.gguf", "--out", "/nonexistent/out.gguf"], 1, "ENOENT"],
  ])("refuses %p with exit %d", (args, code, message) => {
    const result = cli(...args);
    expect(result.exitCode).toBe(code);
    expect(result.stderr.toString()).toContain(message);
    expect(result.stdout.toString()).toBe("");
  });
});
