#!/usr/bin/env bun
/** Entry point of the basis-canary binary (the canary and the reference orchestrator). */
import process from "node:process";
import { versionLine } from "../lib/version.ts";

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
  console.log(versionLine("basis-canary"));
} else {
  // citty colours its usage text unless told otherwise; piped help stays plain. Only --help
  // asks: touching process.stdout builds Node streams, which every other start can skip.
  if ((argv.includes("--help") || argv.includes("-h")) && !process.stdout.isTTY) process.env.NO_COLOR = "1";
  const [{ runCli }, { default: main }] = await Promise.all([import("../lib/cli/_run.ts"), import("../lib/cli/canary-main.ts")]);
  await runCli(main, argv);
}
