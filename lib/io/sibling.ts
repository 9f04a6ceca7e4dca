/**
 * Finding our own programs. A compiled binary runs as itself; from source, Bun runs the entry
 * script. Sibling binaries sit next to each other in dist/ or the install prefix.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { BasisError } from "../core/errors.ts";

export function isCompiled(): boolean {
  const main = import.meta.url;
  return main.includes("$bunfs") || main.includes("~BUN");
}

const EXE = process.platform === "win32" ? ".exe" : "";

/** The argv prefix that runs `program` (basis-worker or basis-canary) the way we are run. */
export function siblingCommand(program: "basis-worker" | "basis-canary"): string[] {
  if (isCompiled()) return [join(dirname(process.execPath), program + EXE)];
  const source = resolve(dirname(new URL(import.meta.url).pathname), "../../bin", `${program}.ts`);
  return [process.execPath, source];
}

export async function runSiblingCanary(args: string[]): Promise<number> {
  if ("Deno" in globalThis && !isCompiled()) {
    // The canary runs the reference orchestrator, which is built on Bun (Bun.serve, bun:sqlite).
    throw new BasisError("canary_needs_bun", "The canary runs on Bun, not Deno.", {
      exitCode: 2,
      hint: "Run `make canary`, or the compiled basis-canary binary.",
    });
  }
  const [cmd, ...prefix] = siblingCommand("basis-canary") as [string, ...string[]];
  if (isCompiled() && !existsSync(cmd)) {
    throw new BasisError("canary_missing", `basis-canary was not found next to this binary (${cmd}).`, {
      exitCode: 2,
      hint: "Install both binaries into the same folder, or run `make canary` from a checkout.",
    });
  }
  const child = spawn(cmd, [...prefix, ...args], { stdio: "inherit" });
  return await new Promise((done) => child.on("exit", (code) => done(code ?? 1)));
}
