import { defineCommand } from "citty";
import { jsonArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "run", description: "Run the canary (default): 5 proofs, then `N passed, N failed`; exit 0 only if all pass" },
  args: {
    "worker-bin": { type: "string", description: "basis-worker binary to test (default: the one next to this binary)", valueHint: "path" },
    ...jsonArg,
  },
  async run({ args }) {
    const { runCanaryCommand } = await import("../canary/canary-command.ts");
    process.exitCode = await runCanaryCommand({ workerBin: args["worker-bin"], json: args.json === true });
  },
});
