/**
 * What the worker needs from an inference backend. The echo simulator, Ollama, vLLM and any
 * OpenAI-compatible server all implement this; the worker knows nothing else about them.
 */
import type { FinishReason, InferenceRequest, RuntimeName, Usage } from "../../core/protocol.ts";

export interface RunOptions {
  /** Aborted when the orchestrator cancels the job or its deadline passes. */
  signal: AbortSignal;
  /** Called with each piece of text as it arrives, in order. */
  onDelta: (text: string) => void;
}

export interface RunResult {
  text: string;
  finish_reason: FinishReason;
  usage: Usage;
}

export interface Runtime {
  readonly name: RuntimeName;
  /** The backend model a job for `advertised` model runs on. */
  backendModel(advertised: string): string;
  /** At start: backend reachable and serving the model, else a BasisError with the fix. */
  check(): Promise<void>;
  /** While running: is the backend up? Never throws. */
  healthy(): Promise<boolean>;
  /** Runs one job; throws a BasisError on a backend failure (never returns a partial answer). */
  run(request: InferenceRequest, options: RunOptions): Promise<RunResult>;
}
