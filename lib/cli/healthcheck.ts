import { defineCommand } from "citty";
import { baseArg, workerIdArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "healthcheck", description: "One line, exit 0 when the worker is online, 1 when offline or unreachable (for Docker HEALTHCHECK and systemd)" },
  args: { ...workerIdArg, ...baseArg },
  async run({ args }) {
    const [{ parseWorkerId }, { createBasisApi, resolveBaseUrl }, { isBasisError }, { say }] = await Promise.all([
      import("../core/worker-id.ts"),
      import("../io/basis-api.ts"),
      import("../core/errors.ts"),
      import("./_run.ts"),
    ]);
    // Docker reserves exit 2, so every failure, bad input included, is one line and exit 1.
    try {
      const workerId = parseWorkerId(args["worker-id"]);
      // A health probe must answer fast and never stack up: one try, bounded well under 5 s.
      const api = createBasisApi({ base: resolveBaseUrl(args.base, process.env.BASIS_BASE_URL), tries: 1, timeoutMs: 3_000 });
      const worker = await api.getWorker(workerId);
      const online = worker.online === true;
      say(`${online ? "ok" : "unhealthy"}: worker ${workerId} is ${online ? "online" : "offline"}`);
      process.exitCode = online ? 0 : 1;
    } catch (error) {
      if (!isBasisError(error)) throw error;
      say(`unhealthy: ${error.message} [${error.code}]`);
      process.exitCode = 1;
    }
  },
});
