/** The agent skill names only commands and flags the binary has, and no text we ship promises money. */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { requireBinaries, ROOT, run, WORKER_BIN } from "../helpers/binaries.ts";

const SKILL = readFileSync(join(ROOT, "templates", "skill", "SKILL.md"), "utf8");

function readFrontMatter(text: string): Record<string, unknown> {
  const match = /^---\n([\s\S]*?)\n---\n/.exec(text);
  if (!match) throw new Error("no front matter");
  return Bun.YAML.parse(match[1] as string) as Record<string, unknown>;
}

/** Code in the skill: fenced blocks (continuation lines joined) and inline spans. */
function readCodeLines(text: string): string[] {
  const fenced = [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].flatMap((m) => (m[1] as string).replace(/\\\n\s*/g, " ").split("\n"));
  const inline = [...text.replace(/```[\s\S]*?```/g, "").matchAll(/`([^`\n]+)`/g)].map((m) => m[1] as string);
  return [...fenced, ...inline];
}

interface Invocation {
  command: string;
  sub: string | undefined;
  flags: string[];
}

/** Every `basis-worker <command> [sub] --flags` in the code, up to a comment or another command. */
function readInvocations(text: string): Invocation[] {
  const found: Invocation[] = [];
  for (const line of readCodeLines(text)) {
    for (const match of line.matchAll(/(?:^|[\s;&|(])basis-worker ([a-z][a-z-]*)((?: +[^#;&|]*)?)/g)) {
      const rest = (match[2] as string).trim().split(/\s+/).filter(Boolean);
      const sub = rest[0] && /^[a-z][a-z-]*$/.test(rest[0]) ? rest[0] : undefined;
      found.push({ command: match[1] as string, sub, flags: rest.filter((word) => word.startsWith("--")).map((flag) => flag.split("=")[0] as string) });
    }
  }
  return found;
}

async function readHelp(args: string[]): Promise<string> {
  const result = await run([WORKER_BIN, ...args, "--help"]);
  expect(result.code).toBe(0);
  return result.stdout;
}

describe("templates/skill/SKILL.md", () => {
  test("opens with front matter naming the skill and saying when to use it", () => {
    const front = readFrontMatter(SKILL);
    expect(front.name).toBe("basis-worker");
    expect(typeof front.description).toBe("string");
    expect(front.description as string).toMatch(/\bUse when\b/);
    expect((front.description as string).length).toBeLessThan(1024);
  });

  test("walks through the whole flow", () => {
    const named = new Set(readInvocations(SKILL).map((call) => [call.command, call.sub].filter(Boolean).join(" ")));
    for (const step of ["setup", "register", "start", "status", "healthcheck", "price publish", "canary", "stop", "service install"]) {
      expect([step, named.has(step)]).toEqual([step, true]);
    }
  });
});

describe("basis-worker commands named in shipped docs", () => {
  const docs = ["README.md", "templates/skill/SKILL.md", "templates/OFFLINE-README.md", "docs/DISTRIBUTION.md"];
  test.each(docs)("%s names only commands, subcommands and flags that --help lists", async (doc) => {
    requireBinaries();
    const root = await readHelp([]);
    const missing: string[] = [];
    const calls = readInvocations(readFileSync(join(ROOT, doc), "utf8"));
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) {
      if (!new RegExp(`^\\s+${call.command}\\s`, "m").test(root)) {
        missing.push(`basis-worker ${call.command}`);
        continue;
      }
      const own = await readHelp([call.command]);
      const hasSubs = /^COMMANDS/m.test(own);
      if (hasSubs && call.sub && !new RegExp(`^\\s+${call.sub}\\s`, "m").test(own)) missing.push(`basis-worker ${call.command} ${call.sub}`);
      const help = hasSubs && call.sub ? await readHelp([call.command, call.sub]) : own;
      for (const flag of call.flags) if (!help.includes(flag)) missing.push(`basis-worker ${call.command} ${call.sub ?? ""} ${flag}`);
    }
    expect(missing).toEqual([]);
  });
});

const FORBIDDEN = [/earn now/i, /passive income/i, /\byield\b/i, /\bAPY\b/i, /guaranteed/i, /risk-free/i];

function listTextFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

describe("shipped text", () => {
  test("holds no earnings language in templates/ or docs/", () => {
    const hits: string[] = [];
    for (const file of [...listTextFiles(join(ROOT, "templates")), ...listTextFiles(join(ROOT, "docs"))]) {
      const text = readFileSync(file, "utf8");
      for (const word of FORBIDDEN) if (word.test(text)) hits.push(`${relative(ROOT, file)}: ${word}`);
    }
    expect(hits).toEqual([]);
  });

  test("the forbidden-word check catches each phrase", () => {
    const samples = ["Earn now with your GPU", "passive income", "a 5% yield", "APY 12", "guaranteed rewards", "risk-free"];
    expect(samples.map((sample) => FORBIDDEN.some((word) => word.test(sample)))).toEqual(samples.map(() => true));
  });
});
