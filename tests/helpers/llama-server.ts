/**
 * A real inference engine for tests: llama.cpp's `llama-server` (built by `make engine`, which
 * `make test` runs first; scripts/llama-engine.sh) serving the tiny random-weight llama model
 * (scripts/tiny-model.ts) on 127.0.0.1, a free port, with `--alias` so `/v1/models` lists a
 * usable id.
 *
 *   const engine = await startLlamaServer({ alias: "tiny" });
 *   ... engine.url (http://127.0.0.1:PORT), engine.slots(), engine.kill(), engine.restart() ...
 *   await engine.stop();
 */
import type { Subprocess } from "bun";
import { llamaEngineDir, llamaServerArgs, llamaServerBin, readListeningPort, tinyModelPath } from "../../scripts/llama-engine.ts";

export { llamaEngineDir, llamaServerBin, tinyModelPath };

export interface LlamaServerOptions {
  /** The model id `/v1/models` lists and requests name (`--alias`). Default "tiny-llama". */
  alias?: string;
  /** Parallel slots (`-np`). Default 2. */
  slots?: number;
  /** Total context (`-c`), shared among the slots. Default 4096. */
  contextSize?: number;
  /** CPU threads for decoding. Default BASIS_LLAMA_THREADS, else 1: the suite shares a small machine. */
  threads?: number;
  seed?: number;
  /** A port to listen on; default a free one the server picks (port 0). */
  port?: number;
  /** More llama-server flags, after those in BASIS_LLAMA_ARGS (scripts/gpu-check.sh sets `-ngl 99`). */
  extraArgs?: string[];
  /** Bound on start-up (listening and /health answering 200). Default 20 s. */
  startTimeoutMs?: number;
}

export interface LlamaServer {
  /** http://127.0.0.1:PORT (no /v1). */
  readonly url: string;
  readonly port: number;
  readonly alias: string;
  readonly pid: number;
  /** Everything llama-server has printed since this (re)start. */
  log(): string;
  /** GET /slots: each slot's id and whether it is processing a request. */
  slots(): Promise<{ id: number; is_processing: boolean }[]>;
  /** SIGKILL, as a crash would; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same flags, and waits until healthy. */
  restart(): Promise<void>;
  /** SIGTERM and wait; safe to call twice. */
  stop(): Promise<void>;
}

export async function startLlamaServer(options: LlamaServerOptions = {}): Promise<LlamaServer> {
  const dir = llamaEngineDir();
  const bin = llamaServerBin(dir);
  const alias = options.alias ?? "tiny-llama";
  const flags = {
    modelPath: tinyModelPath(options.seed, dir),
    alias,
    slots: options.slots ?? 2,
    contextSize: options.contextSize ?? 4096,
    threads: options.threads ?? (Number(process.env.BASIS_LLAMA_THREADS) || 1),
    extraArgs: [...(process.env.BASIS_LLAMA_ARGS ?? "").split(/\s+/).filter(Boolean), ...(options.extraArgs ?? [])],
  };
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  let current = await launch(bin, llamaServerArgs({ ...flags, port: options.port ?? 0 }), startTimeoutMs);
  const port = current.port;
  const url = `http://127.0.0.1:${port}`;

  const end = async (signal: "SIGTERM" | "SIGKILL") => {
    if (current.proc.exitCode === null && current.proc.signalCode === null) current.proc.kill(signal);
    await current.proc.exited;
  };
  return {
    url,
    port,
    alias,
    get pid() {
      return current.proc.pid;
    },
    log: () => current.log(),
    async slots() {
      const response = await fetch(`${url}/slots`);
      if (!response.ok) throw new Error(`GET /slots answered HTTP ${response.status}`);
      return (await response.json()) as { id: number; is_processing: boolean }[];
    },
    kill: () => end("SIGKILL"),
    async restart() {
      await end("SIGKILL");
      current = await launch(bin, llamaServerArgs({ ...flags, port }), startTimeoutMs);
    },
    stop: () => end("SIGTERM"),
  };
}

interface Launched {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  port: number;
  log(): string;
}

/** Spawns llama-server, reads the port it reports listening on, waits for /health to answer 200. */
async function launch(bin: string, args: string[], timeoutMs: number): Promise<Launched> {
  const proc = Bun.spawn([bin, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let output = "";
  let announce: (port: number) => void = () => {};
  const listening = new Promise<number>((resolve) => (announce = resolve));
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    let port = 0;
    for await (const chunk of stream) {
      // Kept whole (a few kB a request): tests count lines in it, such as "cancel task".
      output += decoder.decode(chunk, { stream: true });
      if (port) continue;
      port = readListeningPort(output);
      if (port) announce(port);
    }
  };
  void collect(proc.stdout);
  void collect(proc.stderr);
  const launched: Launched = { proc, port: 0, log: () => output };

  const deadline = Date.now() + timeoutMs;
  const fail = async (why: string): Promise<never> => {
    proc.kill("SIGKILL");
    await proc.exited;
    throw new Error(`llama-server ${why}:\n${output.split("\n").slice(-25).join("\n")}`);
  };
  const exited = proc.exited.then(() => "exited" as const);
  const bound = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), timeoutMs).unref());
  const first = await Promise.race([listening, exited, bound]);
  if (first === "exited") return await fail(`exited with code ${proc.exitCode} before listening`);
  if (first === "timeout") return await fail(`did not listen within ${timeoutMs} ms`);
  launched.port = first;
  // /health answers 503 while the model loads, 200 once requests can be served.
  while ((await fetch(`http://127.0.0.1:${first}/health`).then((r) => r.status, () => 0)) !== 200) {
    if (proc.exitCode !== null || proc.signalCode !== null) return await fail(`exited with code ${proc.exitCode} while loading`);
    if (Date.now() > deadline) return await fail(`was not healthy within ${timeoutMs} ms`);
    await Bun.sleep(20);
  }
  return launched;
}
