import { describe, expect, test } from "bun:test";
import { describeUrl, joinUrl, stripUrlCredentials } from "../../lib/core/public-url.ts";

describe("stripUrlCredentials", () => {
  test.each([
    ["user and password", "http://ops:s3cret@host:11434/x", "http://host:11434/x"],
    ["a user only", "https://token@host/", "https://host/"],
    ["an unparseable URL", "not a url//ops:s3cret@host", "not a url//host"],
  ])("removes %s", (_, input, expected) => {
    expect(stripUrlCredentials(input)).toBe(expected);
  });

  test("leaves a URL without credentials exactly as given", () => {
    expect(stripUrlCredentials("http://127.0.0.1:11434")).toBe("http://127.0.0.1:11434");
  });
});

describe("joinUrl", () => {
  test.each([
    ["http://127.0.0.1:11434", "http://127.0.0.1:11434/api/tags"],
    ["http://127.0.0.1:11434/", "http://127.0.0.1:11434/api/tags"],
    ["https://proxy/ollama/", "https://proxy/ollama/api/tags"],
  ])("keeps the path prefix of %s", (base, expected) => {
    expect(joinUrl(base, "/api/tags")).toBe(expected);
  });
});

describe("describeUrl", () => {
  test.each([
    ["http://127.0.0.1:11434", "http://127.0.0.1:11434"],
    ["http://127.0.0.1:8000/v1/", "http://127.0.0.1:8000/v1/"],
    ["https://user:s3cret@api.example.com/v1?key=abc", "https://api.example.com/v1"],
    ["not a url", "(invalid URL)"],
  ])("shows %s as %s", (input, expected) => {
    expect(describeUrl(input)).toBe(expected);
  });
});

describe("joinUrl keeps a base path", () => {
  test("joins without doubling slashes", () => {
    expect(joinUrl("http://h:1//", "/api/tags")).toBe("http://h:1/api/tags");
  });
});


