import { defineCommand } from "citty";
import { baseArg, envFileArg, jsonArg, workerIdArg } from "./_args.ts";

export default defineCommand({
  meta: {
    name: "status",
    description:
      "Show a worker as the Basis API sees it: online, last seen, jobs, models; optionally its reward ledger and onboarding state. --onboarding alone (no worker id) shows the network's onboarding state",
  },
  args: {
    ...workerIdArg,
    ...envFileArg,
    rewards: { type: "boolean", description: "Add the reward ledger (pending / batching / settled, integer base units)" },
    onboarding: { type: "boolean", description: "Add the onboarding state: registration, job routing, orchestrator, settlement" },
    ...baseArg,
    ...jsonArg,
  },
  async run({ args }) {
    const [{ resolveIdentity }, { createBasisApi }, format, { print, say }] = await Promise.all([
      import("../io/worker-identity.ts"),
      import("../io/basis-api.ts"),
      import("../core/status-format.ts"),
      import("./_run.ts"),
    ]);
    // The onboarding state is network-wide: it needs no worker id (GET /api/workers/onboarding/status).
    const onboardingOnly = args.onboarding === true && args.rewards !== true;
    const { workerId, base } = await resolveIdentity("status", args, !onboardingOnly);
    const api = createBasisApi({ base });
    const [worker, rewards, onboarding] = await Promise.all([
      workerId === undefined ? undefined : api.getWorker(workerId),
      args.rewards && workerId !== undefined ? api.getRewards(workerId) : undefined,
      args.onboarding ? api.getOnboarding(workerId) : undefined,
    ]);
    if (args.json) {
      print({ ...(worker ? { worker } : {}), ...(rewards ? { rewards } : {}), ...(onboarding ? { onboarding } : {}) });
      return;
    }
    say(format.formatStatus({ worker, rewards, onboarding, now: new Date() }));
  },
});
