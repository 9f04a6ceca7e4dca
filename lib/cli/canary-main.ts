/** The basis-canary root: `run` the canary (the default), `serve` the reference orchestrator, or mint a worker `token`. */
import { defineCommand } from "citty";
import { VERSION } from "../version.ts";
import { canaryArgs } from "./_args.ts";

export default defineCommand({
  meta: {
    name: "basis-canary",
    version: VERSION,
    description: "Prove a real orchestrator, a real echo worker and /v1/dispatch end to end with throwaway secrets; or serve the reference orchestrator",
  },
  // Declared here too so `basis-canary --worker-bin PATH` parses PATH as a value, not a command.
  args: canaryArgs,
  subCommands: {
    run: () => import("./canary-run.ts").then((m) => m.default),
    serve: () => import("./serve.ts").then((m) => m.default),
    token: () => import("./canary-token.ts").then((m) => m.default),
    version: () => import("./version.ts").then((m) => m.versionCommand("basis-canary")),
  },
  // A root `run()` would also fire after `serve`; a default sub-command runs alone.
  default: "run",
});
