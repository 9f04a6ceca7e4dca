/**
 * `start --pull`: fetch the Ollama model before serving, with a progress line (bytes, percent,
 * rate) that redraws in place on a terminal and prints about once a second otherwise.
 */
import process from "node:process";
import type { ConsolaInstance } from "consola";
import { BasisError } from "../core/errors.ts";
import type { Runtime } from "./runtimes/runtime.ts";

export async function pullModelFirst(runtime: Runtime, model: string, log: ConsolaInstance): Promise<void> {
  if (runtime.name !== "ollama") {
    throw new BasisError("pull_unsupported", `--pull works with the ollama runtime only (this worker runs ${runtime.name}).`, {
      exitCode: 2,
      hint:
        runtime.name === "vllm"
          ? "vLLM loads the model named by its --model flag at start."
          : runtime.name === "llamacpp"
            ? "llama-server loads the model file named by its -m flag at start."
            : "Drop --pull.",
    });
  }
  const { OllamaRuntime } = await import("./runtimes/ollama.ts");
  if (!(runtime instanceof OllamaRuntime)) return;
  const tty = process.stderr.isTTY === true;
  let lastPrinted = 0;
  let lastStatus = "";
  log.info(`pulling ${model} through Ollama`);
  await runtime.pull(model, (progress) => {
    if (tty) {
      process.stderr.write(`\r\x1b[2K${progress.line}`);
      return;
    }
    // Logs get a line per phase, per finished layer, and at most one a second in between.
    const now = Date.now();
    if (progress.status !== lastStatus || progress.percent === 100 || now - lastPrinted >= 1_000) {
      process.stderr.write(`${progress.line}\n`);
      lastPrinted = now;
      lastStatus = progress.status;
    }
  });
  if (tty) process.stderr.write("\n");
  log.success(`${model} is ready`);
}
