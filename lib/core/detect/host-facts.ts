/**
 * The shapes detection works with. Probes in lib/io produce raw command outputs and HTTP
 * replies; the pure parsers in this folder turn them into facts; summarizeHost turns facts
 * into the report people and --json read.
 */
import type { RuntimeName } from "../protocol.ts";

/** What running one external command produced. A missing binary or a timeout is data, not an exception. */
export interface CommandOutput {
  ok: boolean;
  /** Exit code, or null when the command did not exit by itself (not found, killed). */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  notFound: boolean;
}

/** What one HTTP GET produced. `status` is null when no response arrived. */
export interface HttpReply {
  status: number | null;
  body: string;
  error?: "timeout" | "unreachable" | "invalid_url";
}

export type GpuVendor = "nvidia" | "amd" | "apple";

export interface GpuInfo {
  vendor: GpuVendor;
  name: string;
  memory_total_mib: number | null;
  memory_free_mib: number | null;
  driver: string | null;
  uuid: string | null;
  utilization_pct: number | null;
}

/** GPUs one vendor tool reported; `reason` says in plain words why there are none. */
export interface GpuProbe {
  gpus: GpuInfo[];
  reason?: string;
}

export interface DockerFacts {
  installed: boolean;
  running: boolean;
  /** Docker lists an `nvidia` runtime. A hint only: Docker Desktop lists it without NVIDIA hardware. */
  nvidia_runtime: boolean;
  reason?: string;
}

export interface AppleFacts {
  appleSilicon: boolean;
  /** This process is an x64 build translated by Rosetta 2 (slower; use a native arm64 build). */
  rosetta: boolean;
  /** The chip as a GPU entry (unified memory), when on Apple Silicon. */
  gpu?: GpuInfo;
}

export interface OllamaFacts {
  url: string;
  running: boolean;
  version: string | null;
  models: string[];
  reason?: string;
}

export interface VllmFacts {
  url: string;
  running: boolean;
  healthy: boolean;
  models: string[];
  reason?: string;
}

export interface LlamaCppFacts {
  url: string;
  running: boolean;
  healthy: boolean;
  models: string[];
  /** Tokens of context each slot holds (`/props`), null when unknown. */
  context_size: number | null;
  /** Requests decoded at once (`-np`), null when unknown. */
  slots: number | null;
  reason?: string;
}

export interface HostFacts {
  platform: string;
  arch: string;
  nvidia: GpuProbe;
  amd: GpuProbe;
  apple: AppleFacts;
  docker: DockerFacts;
  ollama: OllamaFacts;
  vllm: VllmFacts;
  llamacpp: LlamaCppFacts;
}

/** The `setup --check` report. Field names are stable: scripts read the --json form. */
export interface HostReport {
  os: string;
  arch: string;
  apple_silicon: boolean;
  rosetta: boolean;
  gpus: GpuInfo[];
  docker: DockerFacts;
  ollama: OllamaFacts;
  vllm: VllmFacts;
  llamacpp: LlamaCppFacts;
  /** The runtime that works on this host right now. */
  runtime: RuntimeName;
  /** What is absent, in plain words. */
  missing: string[];
  /** Commands to run next, the first one usable as is (after filling in the wallet). */
  next: string[];
}
