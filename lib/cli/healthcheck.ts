import { defineCommand } from "citty";
import { baseArg, envFileArg, jsonArg, workerIdArg } from "./_args.ts";

export default defineCommand({
  meta: {
    name: "healthcheck",
    description:
      "One line; exit 0 when the worker is online AND can serve (connected, backend up, not draining), 1 otherwise or when the API cannot tell, 2 when the command line is wrong (for Docker HEALTHCHECK and systemd)",
  },
  args: { ...workerIdArg, ...envFileArg, ...baseArg, ...jsonArg },
  async run({ args }) {
    const [{ resolveIdentity }, { createBasisApi }, { judgeHealth }, { isBasisError }, { print, say }] = await Promise.all([
      import("../io/worker-identity.ts"),
      import("../io/basis-api.ts"),
      import("../core/health.ts"),
      import("../core/errors.ts"),
      import("./_run.ts"),
    ]);
    const report = (health: { healthy: boolean; worker_id: string | null; reason: string; line: string; error?: string }) => {
      if (args.json) print(health);
      else say(health.line);
      process.exitCode = health.healthy ? 0 : 1;
    };
    // A command line that names no worker is a usage error (exit 2, with the usage line). Anything
    // else, a bad value included, is one "unhealthy" line and exit 1.
    try {
      const { workerId, base } = await resolveIdentity("healthcheck", args);
      const id = workerId as string;
      // A health probe must answer fast and never stack up: one try, bounded well under 5 s.
      const api = createBasisApi({ base, tries: 1, timeoutMs: 3_000 });
      report({ worker_id: id, ...judgeHealth(id, await api.getWorker(id)) });
    } catch (error) {
      if (!isBasisError(error) || error.code === "usage_missing_flag") throw error;
      report({ healthy: false, worker_id: null, reason: "unknown", error: error.code, line: `unhealthy: ${error.message} [${error.code}]` });
    }
  },
});
