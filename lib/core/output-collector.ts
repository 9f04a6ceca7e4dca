/**
 * Joins streamed output pieces (answer text, reasoning text, tool-call pieces, logprobs) into
 * the whole answer. Runtimes use it to build their result, the worker to batch pieces that
 * arrive in one tick, the gateway to check what was streamed against what was reported.
 */
import type { Logprob, ToolCall, ToolCallDelta } from "./protocol.ts";

export interface OutputDelta {
  content?: string;
  reasoning?: string;
  tool_calls?: ToolCallDelta[];
  logprobs?: Logprob[];
}

export class OutputCollector {
  text = "";
  reasoning = "";
  readonly logprobs: Logprob[] = [];
  readonly #calls = new Map<number, { id: string; name: string; arguments: string }>();

  /** Adds a piece; true when it carried any output (text, reasoning or a tool call). */
  add(delta: OutputDelta): boolean {
    let output = false;
    if (delta.content) {
      this.text += delta.content;
      output = true;
    }
    if (delta.reasoning) {
      this.reasoning += delta.reasoning;
      output = true;
    }
    for (const piece of delta.tool_calls ?? []) {
      const call = this.#calls.get(piece.index) ?? { id: "", name: "", arguments: "" };
      if (piece.id) call.id = piece.id;
      if (piece.function?.name) call.name += piece.function.name;
      if (piece.function?.arguments) call.arguments += piece.function.arguments;
      this.#calls.set(piece.index, call);
      output = true;
    }
    if (delta.logprobs) this.logprobs.push(...delta.logprobs);
    return output;
  }

  get hasToolCalls(): boolean {
    return this.#calls.size > 0;
  }

  toolCalls(): ToolCall[] {
    return [...this.#calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, call]) => ({ id: call.id || `call_${index}`, type: "function" as const, function: { name: call.name, arguments: call.arguments } }));
  }

  /** One text holding everything the model produced, to compare a stream with a report. */
  transcript(): string {
    return transcriptOf({ text: this.text, reasoning: this.reasoning, tool_calls: this.toolCalls() });
  }
}

export function transcriptOf(output: { text: string; reasoning?: string | undefined; tool_calls?: ToolCall[] | undefined }): string {
  const calls = (output.tool_calls ?? []).map((call) => `${call.function.name}(${call.function.arguments})`).join("\n");
  // A text-only answer's transcript is its text, so byte bounds on it are exact.
  return [output.reasoning ?? "", output.text, calls].filter((part) => part !== "").join("\n");
}

/** Appends `next` to `into` (both pieces of one stream), so pieces from one tick travel together. */
export function mergeDelta(into: OutputDelta, next: OutputDelta): void {
  if (next.content) into.content = (into.content ?? "") + next.content;
  if (next.reasoning) into.reasoning = (into.reasoning ?? "") + next.reasoning;
  if (next.logprobs?.length) (into.logprobs ??= []).push(...next.logprobs);
  for (const piece of next.tool_calls ?? []) {
    const calls = (into.tool_calls ??= []);
    const last = calls.at(-1);
    // A continuation of the same call folds into it; clients rebuild calls by index either way.
    if (last && last.index === piece.index && !piece.id) {
      if (piece.function?.name || piece.function?.arguments) {
        last.function = {
          ...(last.function?.name || piece.function?.name ? { name: (last.function?.name ?? "") + (piece.function?.name ?? "") } : {}),
          arguments: (last.function?.arguments ?? "") + (piece.function?.arguments ?? ""),
        };
      }
    } else {
      calls.push({ ...piece, ...(piece.function ? { function: { ...piece.function } } : {}) });
    }
  }
}

export function isEmptyDelta(delta: OutputDelta): boolean {
  return !delta.content && !delta.reasoning && !delta.tool_calls?.length && !delta.logprobs?.length;
}
