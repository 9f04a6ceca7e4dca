import { defineCommand } from "citty";
import { jsonArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "canary", description: "Run basis-canary (found next to this binary) to prove orchestrator, worker and dispatch end to end" },
  args: { ...jsonArg },
  async run({ rawArgs }) {
    const { runSiblingCanary } = await import("../io/sibling.ts");
    process.exitCode = await runSiblingCanary(rawArgs);
  },
});
