/** The basis-canary root: run the canary (default) or `serve` the reference orchestrator. */
import { defineCommand } from "citty";
import { VERSION } from "../version.ts";
import { jsonArg } from "./_args.ts";

export default defineCommand({
  meta: {
    name: "basis-canary",
    version: VERSION,
    description: "Prove a real orchestrator, a real echo worker and /v1/dispatch end to end with throwaway secrets; or serve the reference orchestrator",
  },
  args: {
    "worker-bin": { type: "string", description: "basis-worker binary to test (default: the one next to this binary)", valueHint: "path" },
    ...jsonArg,
  },
  subCommands: {
    serve: () => import("./serve.ts").then((m) => m.default),
  },
  async run({ args }) {
    const { runCanaryCommand } = await import("../canary/canary-command.ts");
    process.exitCode = await runCanaryCommand({ workerBin: args["worker-bin"], json: args.json === true });
  },
});
