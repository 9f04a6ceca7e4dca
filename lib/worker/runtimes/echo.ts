/** The GPU-free simulator: streams a deterministic answer in several chunks. */
import { setImmediate } from "node:timers";
import { BasisError } from "../../core/errors.ts";
import { composeEchoAnswer } from "../../core/echo.ts";
import { type InferenceRequest, maxOutputTokens } from "../../core/protocol.ts";
import type { RunOptions, RunResult, Runtime } from "./runtime.ts";

const TOKENS_PER_CHUNK = 4;

export class EchoRuntime implements Runtime {
  readonly name = "echo" as const;

  backendModel(advertised: string): string {
    return advertised;
  }

  async check(): Promise<void> {}

  async healthy(): Promise<boolean> {
    return true;
  }

  async run(request: InferenceRequest, options: RunOptions): Promise<RunResult> {
    const answer = composeEchoAnswer(request.messages, maxOutputTokens(request), request.stop);
    for (let i = 0; i < answer.tokens.length; i += TOKENS_PER_CHUNK) {
      if (options.signal.aborted) throw new BasisError("job_cancelled", "The job was cancelled.");
      options.onDelta({ content: answer.tokens.slice(i, i + TOKENS_PER_CHUNK).join("") });
      // Yield between chunks so they travel as a stream, as a real backend's would.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return {
      text: answer.tokens.join(""),
      finish_reason: answer.finish_reason,
      usage: { prompt_tokens: answer.prompt_tokens, completion_tokens: answer.tokens.length },
    };
  }
}
