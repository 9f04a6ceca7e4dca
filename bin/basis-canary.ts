#!/usr/bin/env bun
/** Entry point of the basis-canary binary (the canary and the reference orchestrator). */
import process from "node:process";
import { versionLine } from "../lib/version.ts";

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
  console.log(versionLine("basis-canary"));
} else {
  const [{ runCli }, { default: main }] = await Promise.all([import("../lib/cli/_run.ts"), import("../lib/cli/canary-main.ts")]);
  await runCli(main, argv);
}
