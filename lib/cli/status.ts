import { defineCommand } from "citty";
import { baseArg, jsonArg, workerIdArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "status", description: "Show a worker as the Basis API sees it: online, last seen, jobs, models; optionally its reward ledger and onboarding state" },
  args: {
    ...workerIdArg,
    rewards: { type: "boolean", description: "Add the reward ledger (pending / batching / settled, integer base units)" },
    onboarding: { type: "boolean", description: "Add the onboarding state: registration, job routing, orchestrator, settlement" },
    ...baseArg,
    ...jsonArg,
  },
  async run({ args }) {
    const [{ parseWorkerId }, { createBasisApi, resolveBaseUrl }, format, { print, say }] = await Promise.all([
      import("../core/worker-id.ts"),
      import("../io/basis-api.ts"),
      import("../core/status-format.ts"),
      import("./_run.ts"),
    ]);
    const workerId = parseWorkerId(args["worker-id"]);
    const api = createBasisApi({ base: resolveBaseUrl(args.base, process.env.BASIS_BASE_URL) });
    const [worker, rewards, onboarding] = await Promise.all([
      api.getWorker(workerId),
      args.rewards ? api.getRewards(workerId) : undefined,
      args.onboarding ? api.getOnboarding(workerId) : undefined,
    ]);
    if (args.json) {
      print({ worker, ...(rewards ? { rewards } : {}), ...(onboarding ? { onboarding } : {}) });
      return;
    }
    const sections = [format.formatWorker(worker, new Date())];
    if (rewards) sections.push(`Rewards\n${format.formatRewards(rewards)}`);
    if (onboarding) sections.push(`Onboarding\n${format.formatOnboarding(onboarding)}`);
    else sections.push(format.STATUS_NOTE);
    say(sections.join("\n\n"));
  },
});
