/**
 * What the worker needs from an inference backend. The echo simulator, Ollama, vLLM and any
 * OpenAI-compatible server all implement this; the worker knows nothing else about them.
 */
import type { OutputDelta } from "../../core/output-collector.ts";
import type { FinishReason, InferenceRequest, Logprob, RuntimeName, ToolCall, Usage } from "../../core/protocol.ts";

/** A piece of output as it arrives: answer text, reasoning text, tool-call pieces, logprobs. */
export type RunDelta = OutputDelta;

export interface RunOptions {
  /** Aborted when the orchestrator cancels the job or its deadline passes. */
  signal: AbortSignal;
  /** Called with each piece of output as it arrives, in order. */
  onDelta: (delta: RunDelta) => void;
}

export interface RunResult {
  text: string;
  reasoning?: string;
  tool_calls?: ToolCall[];
  logprobs?: Logprob[];
  finish_reason: FinishReason;
  usage: Usage;
}

export interface RuntimeNote {
  level: "info" | "warn";
  message: string;
}

export interface Runtime {
  readonly name: RuntimeName;
  /** The backend model a job for `advertised` model runs on. */
  backendModel(advertised: string): string;
  /** At start: backend reachable and serving the model, else a BasisError with the fix. */
  check(): Promise<void>;
  /** While running: is the backend up? Never throws. */
  healthy(): Promise<boolean>;
  /** After check(): what the backend told about itself that the operator should read at start. */
  startNotes?(concurrency: number): RuntimeNote[];
  /** Runs one job; throws a BasisError on a backend failure (never returns a partial answer). */
  run(request: InferenceRequest, options: RunOptions): Promise<RunResult>;
}
