/**
 * Writes the tiny random-weight llama model (scripts/tiny-model.ts):
 *   bun scripts/make-tiny-model.ts --vocab ggml-vocab-llama-spm.gguf --out tiny.gguf [--seed 42]
 *   bun scripts/make-tiny-model.ts --engine-dir DIR [--seed 42]
 * The second form reads DIR/models/ggml-vocab-llama-spm.gguf (scripts/llama-engine.sh puts it
 * there) and writes DIR/models/<tinyModelFileName(seed)> unless it is already there. The file
 * appears whole or not at all (written beside, then renamed).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readGguf, writeGguf } from "./gguf.ts";
import { buildTinyModel, TINY_MODEL_DEFAULTS, tinyModelFileName } from "./tiny-model.ts";

const USAGE = "usage: bun scripts/make-tiny-model.ts (--vocab VOCAB.gguf --out MODEL.gguf | --engine-dir DIR) [--seed N]";
export const VOCAB_FILE = "ggml-vocab-llama-spm.gguf";

/** Generates the model for `seed` from `vocabPath` into `outPath`, atomically. */
export function writeTinyModel(vocabPath: string, outPath: string, seed: number): void {
  const { metadata, tensors } = buildTinyModel(readGguf(readFileSync(vocabPath)), { ...TINY_MODEL_DEFAULTS, seed });
  const temporary = `${outPath}.${process.pid}.tmp`;
  writeFileSync(temporary, writeGguf(metadata, tensors));
  renameSync(temporary, outPath);
}

/** The cached model in an engine folder, generated on first use. */
export function ensureTinyModel(engineDir: string, seed: number = TINY_MODEL_DEFAULTS.seed): string {
  const out = join(engineDir, "models", tinyModelFileName(seed));
  if (!existsSync(out)) writeTinyModel(join(engineDir, "models", VOCAB_FILE), out, seed);
  return out;
}

function main(argv: string[]): number {
  let values: { vocab?: string; out?: string; "engine-dir"?: string; seed?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { vocab: { type: "string" }, out: { type: "string" }, "engine-dir": { type: "string" }, seed: { type: "string" } },
      strict: true,
    }));
  } catch (error) {
    console.error(`make-tiny-model: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const engineDir = values["engine-dir"];
  if (engineDir ? values.vocab || values.out : !values.vocab || !values.out) {
    console.error(`make-tiny-model: give either --vocab and --out, or --engine-dir\n${USAGE}`);
    return 2;
  }
  const seed = values.seed === undefined ? TINY_MODEL_DEFAULTS.seed : Number(values.seed);
  if (!/^\d+$/.test(values.seed ?? "0") || seed > 0xffffffff) {
    console.error(`make-tiny-model: --seed must be an integer from 0 to 4294967295, got "${values.seed}"`);
    return 2;
  }
  try {
    if (engineDir) {
      console.log(ensureTinyModel(engineDir, seed));
    } else {
      writeTinyModel(values.vocab as string, values.out as string, seed);
      console.log(values.out);
    }
  } catch (error) {
    console.error(`make-tiny-model: ${(error as Error).message}`);
    return 1;
  }
  return 0;
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2));
