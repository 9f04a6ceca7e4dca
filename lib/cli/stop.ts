import { defineCommand } from "citty";
import { envFileArg, jsonArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "stop", description: "Stop a worker that `start` runs on this host: SIGTERM, then in-flight jobs drain before it exits" },
  args: {
    "worker-id": { type: "string", description: "Which worker (needed when several run on this host)", valueHint: "id" },
    ...envFileArg,
    wait: { type: "string", description: "Seconds to wait for the drain to finish", default: "45", valueHint: "s" },
    ...jsonArg,
  },
  async run({ args }) {
    const [{ BasisError, inputError }, { resolveIdentity }, pidFiles, { resolveStateDir }, { print, say }] = await Promise.all([
      import("../core/errors.ts"),
      import("../io/worker-identity.ts"),
      import("../io/pid-file.ts"),
      import("../io/state-dir.ts"),
      import("./_run.ts"),
    ]);
    const { workerId: wanted } = await resolveIdentity("stop", args, false);
    if (!/^\d{1,4}$/.test(args.wait) || Number(args.wait) < 1) throw inputError("wait_malformed", "--wait must be a whole number of seconds from 1 to 9999.");
    const dir = resolveStateDir();
    const entries = (await pidFiles.listPidFiles(dir)).filter((entry) => wanted === undefined || entry.workerId === wanted);

    // A pid file whose process is gone (a crash, a kill -9) would otherwise block the next start's id check forever.
    const stale = entries.filter((entry) => !entry.alive);
    await Promise.all(stale.map((entry) => pidFiles.removePidFile(entry.path)));
    const running = entries.filter((entry) => entry.alive);
    const cleaned = stale.length > 0 ? ` (removed ${stale.length} stale pid file${stale.length === 1 ? "" : "s"})` : "";

    if (running.length === 0) {
      throw new BasisError("worker_not_running", `${wanted ? `Worker ${wanted} is not running` : "No worker is running"} on this host${cleaned}.`, {
        hint: `basis-worker stop finds workers started by this user with basis-worker start (pid files in ${dir}).`,
      });
    }
    if (running.length > 1) {
      const list = running.map((entry) => `${entry.workerId} (pid ${entry.pid})`).join(", ");
      throw inputError("several_workers_running", `Several workers run on this host: ${list}.`, `Say which one: basis-worker stop --worker-id ${running[0]?.workerId}`);
    }

    const target = running[0] as (typeof running)[number];
    const pid = target.pid as number;
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // It exited between the check and the signal: that is the outcome we wanted.
    }
    const deadline = Date.now() + Number(args.wait) * 1000;
    while (pidFiles.isProcessAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (pidFiles.isProcessAlive(pid)) {
      throw new BasisError("stop_timeout", `Worker ${target.workerId} (pid ${pid}) is still draining after ${args.wait} s.`, {
        hint: `Wait longer (--wait), or cut its jobs off: kill -9 ${pid}`,
      });
    }
    await pidFiles.removePidFile(target.path);
    if (args.json) print({ stopped: true, worker_id: target.workerId, pid, stale_pid_files_removed: stale.length });
    else say(`Stopped worker ${target.workerId} (pid ${pid}) after a graceful drain${cleaned}.`);
  },
});
