/**
 * `--version` and `--help` must not load viem or socket.io: every module reachable by static
 * imports from the entry points and the command definitions stays light. Dynamic `import()`
 * inside a command's run() is where heavy code belongs.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ROOT } from "../helpers/binaries.ts";

const HEAVY = /^(viem|socket\.io|socket\.io-client|ox|@noble)(\/|$)/;
const STATIC_IMPORT = /^\s*(?:import|export)\s+(?!type\b)(?:[^"';]*?\s+from\s+)?["']([^"']+)["']/gm;

/** Bare packages reachable from `entry` through static imports, with the path that reaches each. */
function staticPackages(entry: string): Map<string, string[]> {
  const packages = new Map<string, string[]>();
  const seen = new Set<string>();
  const visit = (file: string, trail: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(STATIC_IMPORT)) {
      const spec = match[1] as string;
      if (spec.startsWith(".")) {
        if (/\.(ts|js|mjs)$/.test(spec)) visit(resolve(dirname(file), spec), [...trail, spec]);
      } else if (!spec.startsWith("node:") && !spec.startsWith("bun:")) {
        packages.set(spec, [...trail, spec]);
      }
    }
  };
  visit(entry, [entry.replace(`${ROOT}/`, "")]);
  return packages;
}

const entries = [
  join(ROOT, "bin/basis-worker.ts"),
  join(ROOT, "bin/basis-canary.ts"),
  ...readdirSync(join(ROOT, "lib/cli"))
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .map((f) => join(ROOT, "lib/cli", f)),
];

describe("lazy command loading", () => {
  for (const entry of entries) {
    test(`${entry.replace(`${ROOT}/`, "")} reaches no heavy package statically`, () => {
      const heavy = [...staticPackages(entry)].filter(([pkg]) => HEAVY.test(pkg)).map(([, trail]) => trail.join(" -> "));
      expect(heavy).toEqual([]);
    });
  }

  test("the check sees a heavy import when there is one", () => {
    const packages = staticPackages(join(ROOT, "lib/io/price-publish.ts"));
    expect([...packages.keys()].filter((p) => HEAVY.test(p))).toContain("viem");
  });
});
