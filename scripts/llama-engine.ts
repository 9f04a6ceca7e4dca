/**
 * Where `make engine` (scripts/llama-engine.sh) puts llama.cpp's llama-server and the tiny
 * model, and the flags the tests and the bench start it with. Shared by tests/helpers/
 * llama-server.ts and bench/sections/engine.ts so both run the same engine the same way.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { ensureTinyModel } from "./make-tiny-model.ts";
import { TINY_MODEL_DEFAULTS } from "./tiny-model.ts";

const ROOT = resolve(import.meta.dir, "..");

interface EnginePins {
  nodeLlamaCpp: string;
  llamaCppRelease: string;
}

/**
 * The folder scripts/llama-engine.sh builds into (the same rule as its `--dir`), or
 * BASIS_LLAMA_DIR when set (a CUDA build on a GPU host: scripts/gpu-check.sh sets it).
 */
export function llamaEngineDir(env: Record<string, string | undefined> = process.env): string {
  if (env.BASIS_LLAMA_DIR) return env.BASIS_LLAMA_DIR;
  const pins = JSON.parse(readFileSync(join(ROOT, "scripts", "llama-engine.json"), "utf8")) as EnginePins;
  const root = env.BASIS_LLAMA_CACHE || join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache"), "basis-worker");
  return join(root, `llama-${pins.llamaCppRelease}`);
}

export function llamaServerBin(dir = llamaEngineDir()): string {
  const bin = join(dir, "bin", "llama-server");
  if (!existsSync(bin)) {
    throw new Error(`${bin} is missing: run \`make engine\` (make test does it first; the first build takes about 10 minutes)`);
  }
  return bin;
}

/** The tiny model for `seed`, generated into the engine folder once and reused. */
export function tinyModelPath(seed = TINY_MODEL_DEFAULTS.seed, dir = llamaEngineDir()): string {
  if (!existsSync(join(dir, "models"))) throw new Error(`${join(dir, "models")} is missing: run \`make engine\``);
  return ensureTinyModel(dir, seed);
}

export interface LlamaServerFlags {
  modelPath: string;
  /** The model id `/v1/models` lists and requests name (`--alias`). */
  alias: string;
  /** Parallel slots (`-np`). */
  slots: number;
  /** Total context (`-c`), divided among the slots. */
  contextSize: number;
  /** CPU threads for decoding. */
  threads: number;
  /** 0: the server picks a free port and logs it. */
  port: number;
  extraArgs?: readonly string[];
}

/** llama-server's command-line flags: loopback only, no web UI, /metrics and /slots on, never a download. */
export function llamaServerArgs(flags: LlamaServerFlags): string[] {
  return [
    "-m", flags.modelPath,
    "--alias", flags.alias,
    "--host", "127.0.0.1",
    "--port", String(flags.port),
    "-np", String(flags.slots),
    "-c", String(flags.contextSize),
    "-t", String(flags.threads),
    "--threads-http", "4",
    "--no-webui",
    "--metrics",
    "--slots",
    "--offline",
    ...(flags.extraArgs ?? []),
  ];
}

/** The port from llama-server's "listening on http://127.0.0.1:PORT" log line, or 0. */
export function readListeningPort(log: string): number {
  return Number(/listening on http:\/\/[^\s:]+:(\d+)/.exec(log)?.[1] ?? 0);
}
