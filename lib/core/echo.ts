/**
 * The echo simulator's answer: deterministic, derived from the prompt, with token counts that
 * match what is streamed (one token = one word with its trailing space).
 */
import type { ChatMessage, FinishReason } from "./protocol.ts";
import { followSpotCheck } from "./spot-check.ts";

/** Splits text into word tokens, each keeping its leading whitespace, so joining them is lossless. */
export function tokenizeWords(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

export function countPromptTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((sum, m) => sum + tokenizeWords(m.content).length, 0);
}

export interface EchoAnswer {
  tokens: string[];
  finish_reason: FinishReason;
  prompt_tokens: number;
}

const PROMPT_WORDS_ECHOED = 48;

/**
 * The answer to `messages`, cut at `maxTokens` (finish `length`) or just before the first
 * `stop` string (finish `stop`, the stop string not included, as OpenAI does).
 */
export function composeEchoAnswer(messages: readonly ChatMessage[], maxTokens?: number, stop: readonly string[] = []): EchoAnswer {
  const lastUser = [...messages].reverse().find((m) => m.role === "user") ?? messages[messages.length - 1];
  const words = tokenizeWords(lastUser?.content ?? "").map((w) => w.trim()).slice(0, PROMPT_WORDS_ECHOED);
  // A spot check is answered the way an instruction-following model would (docs/SPOT-CHECKS.md).
  const said = followSpotCheck(messages) ?? (words.length ? words.join(" ") : "(empty prompt)");
  const text = `Echo from the Basis simulator (no model ran): ${said}`;
  const at = stop.reduce((first, s) => {
    const i = text.indexOf(s);
    return i >= 0 && i < first ? i : first;
  }, text.length);
  const kept = text.slice(0, at);
  const all = tokenizeWords(kept);
  // Whitespace just before a stop string is kept as its own token, so the text stays exact.
  const tail = kept.slice(all.join("").length);
  if (tail) all.push(tail);
  const limited = maxTokens !== undefined && all.length > maxTokens;
  return {
    tokens: limited ? all.slice(0, maxTokens) : all,
    finish_reason: limited ? "length" : "stop",
    prompt_tokens: countPromptTokens(messages),
  };
}
