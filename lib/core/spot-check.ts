/**
 * Spot checks (docs/SPOT-CHECKS.md): hidden verification jobs whose answer the orchestrator can
 * check. Each asks the model to repeat a few random common words in order, in one of several
 * phrasings; an instruction-following model does, word salad and canned text do not, and an
 * answer that parrots the instruction itself is refused too. Pure: the caller passes the
 * randomness, so the same draw always makes the same check.
 */
import type { ChatMessage, InferenceRequest } from "./protocol.ts";

/** Common, short, unambiguous English words: one token or two in every mainstream vocabulary. */
export const SPOT_CHECK_WORDS = [
  "amber", "anchor", "apple", "arrow", "autumn", "badge", "bakery", "banner", "barrel", "basket",
  "beacon", "berry", "blanket", "bottle", "bridge", "bucket", "butter", "cabin", "camera", "candle",
  "canyon", "carpet", "castle", "cedar", "chalk", "cherry", "circle", "cloud", "clover", "cobalt",
  "copper", "cotton", "crayon", "cricket", "crystal", "dagger", "daisy", "desert", "dolphin", "dragon",
  "eagle", "ember", "engine", "falcon", "feather", "fiddle", "forest", "fossil", "garden", "garlic",
  "glacier", "goblet", "granite", "gravel", "hammer", "harbor", "hazel", "helmet", "honey", "island",
  "jacket", "jasmine", "kettle", "ladder", "lantern", "lemon", "lizard", "magnet", "maple", "marble",
  "meadow", "mirror", "monkey", "mountain", "needle", "nickel", "oyster", "paddle", "pebble", "pepper",
  "pillow", "planet", "pocket", "puzzle", "rabbit", "ribbon", "river", "rocket", "saddle", "salmon",
  "silver", "spider", "spoon", "squirrel", "summer", "sunset", "tiger", "timber", "tomato", "tunnel",
  "turtle", "valley", "velvet", "violin", "walnut", "wagon", "whistle", "willow", "window", "winter",
] as const;

export const SPOT_CHECK_WORD_COUNT = 4;
/** An answer holding this share of the instruction's words, in order, parroted the prompt. */
export const PARROT_SHARE = 0.9;

/** Phrasings of the one instruction; `{words}` is replaced by the words, separated by spaces. */
const PHRASINGS = [
  "Repeat these words exactly, in the same order, separated by spaces: {words}",
  "Please write back the following words in the order given, nothing else: {words}",
  "Copy this list of words, keeping their order: {words}",
  "Say the words below in the same order.\n{words}",
  "Here are some words: {words}. Write them again in the same order.",
  "Reply with exactly these words, in this order: {words}",
] as const;

const SYSTEM_PROMPTS = [undefined, "You are a helpful assistant.", "Answer briefly."] as const;

export interface SpotCheck {
  request: InferenceRequest;
  /** The words the answer must hold, in order. */
  words: string[];
  /** The instruction text around the words, for the parrot test. */
  instruction: string;
  /** Whether the job is sent streamed (client jobs are both). */
  stream: boolean;
}

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.min(items.length - 1, Math.floor(random() * items.length))] as T;
}

/** One spot check; `random` returns [0, 1) like Math.random. */
export function composeSpotCheck(model: string, random: () => number): SpotCheck {
  const words: string[] = [];
  while (words.length < SPOT_CHECK_WORD_COUNT) {
    const word = pick(SPOT_CHECK_WORDS, random);
    if (!words.includes(word)) words.push(word);
  }
  const phrasing = pick(PHRASINGS, random);
  const system = pick(SYSTEM_PROMPTS, random);
  const messages: ChatMessage[] = [
    ...(system ? [{ role: "system" as const, content: system }] : []),
    { role: "user" as const, content: phrasing.replace("{words}", words.join(" ")) },
  ];
  const limit = pick([48, 64, 96, 128], random);
  // Clients name the limit either way (older SDKs max_tokens, newer max_completion_tokens).
  const limitField = random() < 0.5 ? { max_tokens: limit } : { max_completion_tokens: limit };
  return {
    request: { model, messages, ...limitField, ...(random() < 0.5 ? { temperature: 0 } : {}) },
    words,
    instruction: phrasing.replace("{words}", " "),
    stream: random() < 0.5,
  };
}

/** Lowercase word tokens (letters and digits), punctuation and markup dropped. */
function tokens(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

export type SpotCheckOutcome = "passed" | "missing_words" | "parroted_prompt";

/**
 * Passes when the answer holds the words in order (other words may come between: "1. amber
 * 2. falcon" passes) and does not restate the instruction itself (PARROT_SHARE of its words, in
 * order), which is what a worker that returns its prompt would send.
 */
export function judgeSpotCheck(check: Pick<SpotCheck, "words" | "instruction">, answer: string): SpotCheckOutcome {
  const said = tokens(answer);
  let next = 0;
  for (const token of said) if (token === check.words[next]) next++;
  if (next < check.words.length) return "missing_words";
  const instruction = tokens(check.instruction);
  let matched = 0;
  for (const token of said) if (token === instruction[matched]) matched++;
  return instruction.length > 0 && matched / instruction.length >= PARROT_SHARE ? "parroted_prompt" : "passed";
}

/**
 * What an instruction-following model answers to a spot check: the words, in order. The echo
 * simulator and the test fakes use this to answer the way a real model would; for any other
 * prompt it returns undefined.
 */
export function followSpotCheck(messages: readonly ChatMessage[]): string | undefined {
  const last = [...messages].reverse().find((m) => m.role === "user");
  if (!last) return undefined;
  for (const phrasing of PHRASINGS) {
    const [before, after] = phrasing.split("{words}") as [string, string];
    if (!last.content.startsWith(before) || !last.content.endsWith(after)) continue;
    const words = last.content.slice(before.length, last.content.length - after.length).trim().split(/\s+/);
    if (words.length === SPOT_CHECK_WORD_COUNT && words.every((w) => (SPOT_CHECK_WORDS as readonly string[]).includes(w))) return words.join(" ");
  }
  return undefined;
}
