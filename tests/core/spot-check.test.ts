import { describe, expect, test } from "bun:test";
import { composeEchoAnswer } from "../../lib/core/echo.ts";
import { composeSpotCheck, followSpotCheck, judgeSpotCheck, SPOT_CHECK_WORD_COUNT, type SpotCheck, type SpotCheckOutcome } from "../../lib/core/spot-check.ts";
import { seededUniform as seeded } from "../../scripts/tiny-model.ts";

const checks: SpotCheck[] = Array.from({ length: 200 }, (_, i) => composeSpotCheck("m", seeded(i + 1)));
const lastUser = (check: SpotCheck) => check.request.messages.at(-1)!.content;

describe("composeSpotCheck", () => {
  test("the same randomness makes the same check", () => expect(composeSpotCheck("m", seeded(7))).toEqual(composeSpotCheck("m", seeded(7))));
  test("asks for distinct words, shaped like a client job, in every phrasing", () => {
    const phrasings = new Set<string>();
    for (const check of checks) {
      expect(new Set(check.words).size).toBe(SPOT_CHECK_WORD_COUNT);
      expect(lastUser(check)).toContain(check.words.join(" "));
      expect(check.request.model).toBe("m");
      expect(check.request.max_tokens ?? check.request.max_completion_tokens).toBeGreaterThanOrEqual(48);
      phrasings.add(check.instruction);
    }
    expect(phrasings.size).toBe(6);
    expect(new Set(checks.map((c) => c.stream))).toEqual(new Set([true, false]));
  });
});

describe("judgeSpotCheck", () => {
  const check = checks[0]!;
  const [a, b, c, d] = check.words as [string, string, string, string];
  // The ways an instruction-following model answers: each must pass (no false positive here).
  const honest = [
    `${a} ${b} ${c} ${d}`,
    `${a}, ${b}, ${c}, ${d}.`,
    `Sure! Here they are: ${a} ${b} ${c} ${d}`,
    `1. ${a[0]!.toUpperCase()}${a.slice(1)}\n2. ${b}\n3. ${c}\n4. ${d}`,
    `**${a}** **${b}** **${c}** **${d}**`,
    `"${a} ${b} ${c} ${d}"`,
    `${a.toUpperCase()} ${b.toUpperCase()} ${c.toUpperCase()} ${d.toUpperCase()}`,
    `Here are the words in the same order: ${a} ${b} ${c} ${d}. Let me know if you need anything else.`,
  ];
  for (const answer of honest) test(`passes ${JSON.stringify(answer.slice(0, 40))}`, () => expect(judgeSpotCheck(check, answer)).toBe("passed"));

  const dishonest: [string, string, SpotCheckOutcome][] = [
    ["word salad", "ungeschickt quel तथा sprawled ragione 碼 Tottenham kiedy", "missing_words"],
    ["a canned answer", "I am a helpful assistant. How can I help you today?", "missing_words"],
    ["the words out of order", `${d} ${c} ${b} ${a}`, "missing_words"],
    ["a word missing", `${a} ${b} ${d}`, "missing_words"],
    ["the empty answer", "", "missing_words"],
    ["the prompt sent back", lastUser(check), "parroted_prompt"],
  ];
  for (const [name, answer, outcome] of dishonest) test(`fails ${name}`, () => expect(judgeSpotCheck(check, answer)).toBe(outcome));

  test("every check passes its own instruction-following answer and fails its own prompt", () => {
    for (const check of checks) {
      expect(judgeSpotCheck(check, followSpotCheck(check.request.messages)!)).toBe("passed");
      expect(judgeSpotCheck(check, lastUser(check))).toBe("parroted_prompt");
    }
  });
});

describe("followSpotCheck", () => {
  test("answers only a spot check", () => {
    expect(followSpotCheck([{ role: "user", content: "Repeat these words exactly, in the same order, separated by spaces: river moon" }])).toBeUndefined();
    expect(followSpotCheck([{ role: "user", content: "hello there" }])).toBeUndefined();
  });
  test("the echo simulator passes every spot check", () => {
    for (const check of checks) {
      const answer = composeEchoAnswer(check.request.messages, check.request.max_tokens ?? check.request.max_completion_tokens);
      expect(judgeSpotCheck(check, answer.tokens.join(""))).toBe("passed");
    }
  });
});
