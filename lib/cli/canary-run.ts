import { defineCommand } from "citty";
import { canaryArgs } from "./_args.ts";

export default defineCommand({
  meta: { name: "run", description: "Run the canary (default): 5 proofs, then `N passed, N failed`; exit 0 only if all pass" },
  args: canaryArgs,
  async run({ args }) {
    const { runCanaryCommand } = await import("../canary/canary-command.ts");
    process.exitCode = await runCanaryCommand({ workerBin: args["worker-bin"], json: args.json === true });
  },
});
