/** Prints the canary's proofs as they finish, then `N passed, N failed` (or a JSON report). */
import { existsSync } from "node:fs";
import process from "node:process";
import { BasisError } from "../core/errors.ts";
import { print, say } from "../cli/_run.ts";
import { siblingCommand } from "../io/sibling.ts";
import { runCanary } from "./canary.ts";

export async function runCanaryCommand(options: { workerBin: string | undefined; json: boolean }): Promise<number> {
  const workerCommand = options.workerBin ? [options.workerBin] : siblingCommand("basis-worker");
  const workerPath = workerCommand[workerCommand.length - 1] as string;
  if (!existsSync(workerPath)) {
    throw new BasisError("worker_bin_missing", `basis-worker was not found at ${workerPath}.`, {
      exitCode: 2,
      hint: "Build it with `make build`, or pass --worker-bin PATH.",
    });
  }
  if (!options.json) say("basis-canary: local orchestrator + echo worker + /v1/dispatch, throwaway secrets and wallet");
  const report = await runCanary({
    canaryCommand: siblingCommand("basis-canary"),
    workerCommand,
    onProof(proof, index) {
      if (options.json) return;
      say(`${proof.ok ? "PASS" : "FAIL"} ${index + 1}. ${proof.name} (${proof.ms} ms)${proof.ok ? `: ${proof.detail}` : ""}`);
      if (!proof.ok) process.stdout.write(`${proof.detail.replace(/^/gm, "     ")}\n`);
    },
  });
  if (options.json) print(report);
  else say(`${report.passed} passed, ${report.failed} failed`);
  return report.failed === 0 ? 0 : 1;
}
