#!/usr/bin/env bun
/** Entry point of the basis-worker binary. */
import process from "node:process";
import { versionLine } from "../lib/version.ts";

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
  // console.log is measurably faster to first output than process.stdout.write in a compiled Bun binary.
  console.log(versionLine("basis-worker"));
} else {
  const [{ runCli }, { default: main }] = await Promise.all([import("../lib/cli/_run.ts"), import("../lib/cli/main.ts")]);
  await runCli(main, argv);
}
