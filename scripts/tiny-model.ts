/**
 * A tiny llama-architecture model for testing against a real llama.cpp server: the 32k
 * llama-spm vocabulary copied from llama.cpp's vocab-only `ggml-vocab-llama-spm.gguf`, random
 * weights from a seeded generator, 64 wide and 2 layers by default (about 8.5 MB: the two
 * vocabulary-sized matrices in F16, the rest F32). It loads in a blink and decodes fast on one
 * CPU thread; what it says is word salad, which is what a worker that does not run the model it
 * claims looks like.
 */
import { type GgufFile, type GgufTensorToWrite, GgufType, type GgufValue } from "./gguf.ts";

/** Bump when the weights or metadata a given seed produces change (cached files are keyed by it). */
export const TINY_MODEL_FORMAT = 3;

/** The file name a generated model is cached under, in the engine folder's models/. */
export function tinyModelFileName(seed: number): string {
  return `basis-tiny-llama-f${TINY_MODEL_FORMAT}-s${seed}.gguf`;
}

export interface TinyModelOptions {
  seed: number;
  embedding: number;
  layers: number;
  heads: number;
  feedForward: number;
  contextLength: number;
  name: string;
}

export const TINY_MODEL_DEFAULTS: TinyModelOptions = {
  seed: 42,
  embedding: 64,
  layers: 2,
  heads: 4,
  feedForward: 128,
  // The context it claims to be trained on: llama-server caps each slot's context at it.
  contextLength: 32_768,
  name: "basis-tiny-llama",
};

/** llama.cpp's token types: a byte-fallback token `<0xNN>` is BYTE. */
const TOKEN_TYPE_NORMAL = 1;
const TOKEN_TYPE_BYTE = 6;

/**
 * The metadata and tensors of the model, around the vocabulary in `vocab`. Byte-fallback tokens
 * become normal tokens (their text, e.g. `<0x0A>`, is then printed as is): sampled at random,
 * lone bytes would form invalid UTF-8, which llama-server answers with HTTP 500.
 */
export function buildTinyModel(vocab: GgufFile, options: TinyModelOptions = TINY_MODEL_DEFAULTS): {
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorToWrite[];
} {
  const { embedding: n, layers, heads, feedForward: ff } = options;
  if (n % heads !== 0) throw new RangeError(`embedding ${n} is not a multiple of heads ${heads}`);
  const tokens = vocab.metadata.get("tokenizer.ggml.tokens");
  if (!tokens || tokens.type !== GgufType.ARRAY || tokens.items.length === 0) {
    throw new RangeError("the vocab file has no tokenizer.ggml.tokens");
  }
  const vocabSize = tokens.items.length;

  const u32 = (value: number): GgufValue => ({ type: GgufType.UINT32, value });
  const metadata = new Map<string, GgufValue>([
    ["general.architecture", { type: GgufType.STRING, value: "llama" }],
    ["general.name", { type: GgufType.STRING, value: options.name }],
    ["general.file_type", u32(1)], // mostly F16
    ["llama.block_count", u32(layers)],
    ["llama.context_length", u32(options.contextLength)],
    ["llama.embedding_length", u32(n)],
    ["llama.feed_forward_length", u32(ff)],
    ["llama.attention.head_count", u32(heads)],
    ["llama.attention.head_count_kv", u32(heads)],
    ["llama.attention.layer_norm_rms_epsilon", { type: GgufType.FLOAT32, value: 1e-5 }],
    ["llama.rope.dimension_count", u32(n / heads)],
    ["llama.vocab_size", u32(vocabSize)],
  ]);
  for (const [key, value] of vocab.metadata) {
    if (!key.startsWith("tokenizer.")) continue;
    metadata.set(key, key === "tokenizer.ggml.token_type" ? normalizeByteTokens(value) : value);
  }

  const random = seededUniform(options.seed);
  const weights = (dims: number[], scale: number): Float32Array => {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = (random() * 2 - 1) * scale;
    return data;
  };
  const ones = (length: number): Float32Array => new Float32Array(length).fill(1);
  // Uniform in ±scale; 1/sqrt(fan-in) keeps activations near unit size through the layers.
  const fanIn = (inputs: number) => 1 / Math.sqrt(inputs);

  const tensors: GgufTensorToWrite[] = [
    { name: "token_embd.weight", dims: [n, vocabSize], data: weights([n, vocabSize], 1), type: "f16" },
    { name: "output_norm.weight", dims: [n], data: ones(n) },
    // Its own output projection: one tied to the embedding would make each token's best
    // successor itself, and the model would repeat one token forever. Logits spread about ±2.
    { name: "output.weight", dims: [n, vocabSize], data: weights([n, vocabSize], 0.5), type: "f16" },
  ];
  for (let layer = 0; layer < layers; layer++) {
    const blk = `blk.${layer}`;
    tensors.push(
      { name: `${blk}.attn_norm.weight`, dims: [n], data: ones(n) },
      { name: `${blk}.attn_q.weight`, dims: [n, n], data: weights([n, n], fanIn(n)) },
      { name: `${blk}.attn_k.weight`, dims: [n, n], data: weights([n, n], fanIn(n)) },
      { name: `${blk}.attn_v.weight`, dims: [n, n], data: weights([n, n], fanIn(n)) },
      { name: `${blk}.attn_output.weight`, dims: [n, n], data: weights([n, n], fanIn(n)) },
      { name: `${blk}.ffn_norm.weight`, dims: [n], data: ones(n) },
      { name: `${blk}.ffn_gate.weight`, dims: [n, ff], data: weights([n, ff], fanIn(n)) },
      { name: `${blk}.ffn_up.weight`, dims: [n, ff], data: weights([n, ff], fanIn(n)) },
      { name: `${blk}.ffn_down.weight`, dims: [ff, n], data: weights([ff, n], fanIn(ff)) },
    );
  }
  return { metadata, tensors };
}

function normalizeByteTokens(value: GgufValue): GgufValue {
  if (value.type !== GgufType.ARRAY) return value;
  return { ...value, items: value.items.map((type) => (type === TOKEN_TYPE_BYTE ? TOKEN_TYPE_NORMAL : type)) };
}

/** mulberry32: a small, fast PRNG; the same seed gives the same weights on every platform. */
export function seededUniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
