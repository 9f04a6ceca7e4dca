import { describe, expect, test } from "bun:test";
import { composeEchoAnswer, countPromptTokens, tokenizeWords } from "../../lib/core/echo.ts";

describe("tokenizeWords", () => {
  test("is lossless", () => {
    const text = "  hello   world\nagain ";
    expect(tokenizeWords(text).join("")).toBe(text.trimEnd());
  });
});

describe("composeEchoAnswer", () => {
  const messages = [
    { role: "system" as const, content: "be brief" },
    { role: "user" as const, content: "what is two plus two" },
  ];
  test("is deterministic and derived from the last user message", () => {
    const a = composeEchoAnswer(messages);
    expect(composeEchoAnswer(messages)).toEqual(a);
    expect(a.tokens.join("")).toContain("what is two plus two");
    expect(a.finish_reason).toBe("stop");
    expect(a.prompt_tokens).toBe(countPromptTokens(messages));
    expect(a.prompt_tokens).toBe(7);
  });
  test("honours max_tokens with finish_reason length", () => {
    const a = composeEchoAnswer(messages, 3);
    expect(a.tokens.length).toBe(3);
    expect(a.finish_reason).toBe("length");
  });
  test("differs for different prompts", () => {
    expect(composeEchoAnswer([{ role: "user", content: "a" }]).tokens).not.toEqual(composeEchoAnswer([{ role: "user", content: "b" }]).tokens);
  });
});

describe("composeEchoAnswer with stop strings", () => {
  test("cuts just before the first stop string, keeping the text exact", () => {
    const answer = composeEchoAnswer([{ role: "user", content: "one two three" }], undefined, ["three", "two"]);
    expect(answer.tokens.join("")).toBe("Echo from the Basis simulator (no model ran): one ");
    expect(answer.finish_reason).toBe("stop");
  });
});
