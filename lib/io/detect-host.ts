/**
 * `setup --check`: probes GPUs, Docker, Ollama, vLLM and llama.cpp's server in parallel, each bounded in time, and
 * summarizes what it found. The tools and the network are passed in so tests can replay
 * recorded outputs; by default they are the real ones.
 */
import { DOCKER_INFO_ARGS, readDockerRuntimes } from "../core/detect/parse-docker-runtimes.ts";
import type { CommandOutput, HostFacts, HostReport, HttpReply } from "../core/detect/host-facts.ts";
import { NVIDIA_SMI_ARGS, readNvidiaSmi } from "../core/detect/parse-nvidia-smi.ts";
import { OLLAMA_TAGS_PATH, OLLAMA_VERSION_PATH, readOllama } from "../core/detect/parse-ollama.ts";
import { ROCM_SMI_MEMORY_ARGS, ROCM_SMI_PRODUCT_ARGS, readRocmSmi } from "../core/detect/parse-rocm-smi.ts";
import { VLLM_HEALTH_PATH, VLLM_MODELS_PATH, readVllm } from "../core/detect/parse-vllm.ts";
import { LLAMACPP_HEALTH_PATH, LLAMACPP_MODELS_PATH, LLAMACPP_PROPS_PATH, readLlamaCpp } from "../core/detect/parse-llamacpp.ts";
import { joinUrl } from "../core/public-url.ts";
import {
  SYSCTL_BRAND_ARGS,
  SYSCTL_MEMSIZE_ARGS,
  SYSCTL_TRANSLATED_ARGS,
  readAppleSilicon,
} from "../core/detect/read-apple-silicon.ts";
import { summarizeHost } from "../core/detect/summarize-host.ts";
import { type RunCommand, runCommand } from "./exec.ts";

export interface DetectHostOptions {
  /** Callers apply the BASIS_OLLAMA_URL default (http://127.0.0.1:11434). */
  ollamaUrl: string;
  /** Callers apply the BASIS_VLLM_URL default (http://127.0.0.1:8000). */
  vllmUrl: string;
  /** Callers apply the BASIS_LLAMACPP_URL default (http://127.0.0.1:8080). */
  llamacppUrl: string;
  /** Bound on each probe; all run at once, so the whole check takes about this long at worst. */
  timeoutMs?: number;
  exec?: RunCommand;
  fetch?: typeof fetch;
  platform?: string;
  arch?: string;
}

/** Margin over timeoutMs after which a probe that ignored its own bound is abandoned. */
const GRACE_MS = 250;

export async function detectHost(options: DetectHostOptions): Promise<HostReport> {
  return summarizeHost(await gatherHostFacts(options));
}

export async function gatherHostFacts(options: DetectHostOptions): Promise<HostFacts> {
  const timeoutMs = options.timeoutMs ?? 1500;
  const platform = options.platform ?? process.platform;
  const arch = options.arch ?? process.arch;
  const exec = options.exec ?? runCommand;
  const fetchFn = options.fetch ?? fetch;
  const run = (cmd: string, args: readonly string[]): Promise<CommandOutput> =>
    bound(exec(cmd, args, { timeoutMs }), timeoutMs, TIMED_OUT_COMMAND);
  const get = (base: string, path: string): Promise<HttpReply> =>
    bound(fetchReply(fetchFn, base, path, timeoutMs), timeoutMs, TIMED_OUT_REPLY);
  const onMac = platform === "darwin";
  const skipped = Promise.resolve(undefined);

  const [nvidia, rocmProduct, rocmMemory, docker, translated, brand, memsize, ollamaVersion, ollamaTags, vllmHealth, vllmModels, llamaHealth, llamaModels, llamaProps] =
    await Promise.all([
      run("nvidia-smi", NVIDIA_SMI_ARGS),
      run("rocm-smi", ROCM_SMI_PRODUCT_ARGS),
      run("rocm-smi", ROCM_SMI_MEMORY_ARGS),
      run("docker", DOCKER_INFO_ARGS),
      onMac ? run("sysctl", SYSCTL_TRANSLATED_ARGS) : skipped,
      onMac ? run("sysctl", SYSCTL_BRAND_ARGS) : skipped,
      onMac ? run("sysctl", SYSCTL_MEMSIZE_ARGS) : skipped,
      get(options.ollamaUrl, OLLAMA_VERSION_PATH),
      get(options.ollamaUrl, OLLAMA_TAGS_PATH),
      get(options.vllmUrl, VLLM_HEALTH_PATH),
      get(options.vllmUrl, VLLM_MODELS_PATH),
      get(options.llamacppUrl, LLAMACPP_HEALTH_PATH),
      get(options.llamacppUrl, LLAMACPP_MODELS_PATH),
      get(options.llamacppUrl, LLAMACPP_PROPS_PATH),
    ]);

  return {
    platform,
    arch,
    nvidia: readNvidiaSmi(nvidia),
    amd: readRocmSmi(rocmProduct, rocmMemory),
    apple: readAppleSilicon(platform, arch, { translated, brand, memsize }),
    docker: readDockerRuntimes(docker),
    ollama: readOllama(options.ollamaUrl, ollamaVersion, ollamaTags),
    vllm: readVllm(options.vllmUrl, vllmHealth, vllmModels),
    llamacpp: readLlamaCpp(options.llamacppUrl, llamaHealth, llamaModels, llamaProps),
  };
}

const TIMED_OUT_COMMAND: CommandOutput = { ok: false, code: null, stdout: "", stderr: "", timedOut: true, notFound: false };
const TIMED_OUT_REPLY: HttpReply = { status: null, body: "", error: "timeout" };

async function fetchReply(fetchFn: typeof fetch, base: string, path: string, timeoutMs: number): Promise<HttpReply> {
  let url: URL;
  try {
    url = new URL(joinUrl(base, path));
  } catch {
    return { status: null, body: "", error: "invalid_url" };
  }
  try {
    const response = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    return { status: null, body: "", error: timedOut ? "timeout" : "unreachable" };
  }
}

/** A probe passed in from outside may ignore its bound; the check as a whole must not hang. */
function bound<T>(work: Promise<T>, timeoutMs: number, fallback: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), timeoutMs + GRACE_MS);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/**
 * The models a local Ollama, vLLM or llama-server serves right now, for `setup --write-env`: with
 * exactly one, the worker's backend model is not a question. Empty when nothing answers.
 */
export async function probeServedModels(runtime: "ollama" | "vllm" | "llamacpp", url: string, timeoutMs = 1500, fetchFn: typeof fetch = fetch): Promise<string[]> {
  if (runtime === "ollama") return readOllama(url, TIMED_OUT_REPLY, await fetchReply(fetchFn, url, OLLAMA_TAGS_PATH, timeoutMs)).models;
  // vLLM and llama-server list models alike (OpenAI's /v1/models).
  const models = await fetchReply(fetchFn, url, VLLM_MODELS_PATH, timeoutMs);
  return readVllm(url, models, models).models;
}
