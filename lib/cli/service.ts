import { defineCommand } from "citty";
import { jsonArg, verboseArg } from "./_args.ts";

const install = defineCommand({
  meta: {
    name: "install",
    description: "Write the systemd unit that runs `basis-worker start --env-file`; prints the systemctl commands to run (runs none)",
  },
  args: {
    user: { type: "boolean", description: "A per-user unit (~/.config/systemd/user) instead of a system unit" },
    "env-file": { type: "string", description: "The 0600 worker env file the service reads", valueHint: "path", default: "./worker.env" },
    binary: { type: "string", description: "The basis-worker binary to run (default: this binary)", valueHint: "path" },
    "unit-dir": { type: "string", description: "Write the unit here instead of the systemd folder", valueHint: "dir" },
    "run-as": { type: "string", description: "System units: the account to run as (default: the env file's owner)", valueHint: "user" },
    force: { type: "boolean", description: "Replace an existing unit" },
    ...jsonArg,
    ...verboseArg,
  },
  async run({ args }) {
    const [{ installService }, { print, say }] = await Promise.all([import("../io/install-service.ts"), import("./_run.ts")]);
    const result = await installService({
      scope: args.user ? "user" : "system",
      envFile: args["env-file"],
      binary: args.binary,
      unitDir: args["unit-dir"],
      runAs: args["run-as"],
      force: args.force,
    });
    if (args.json) {
      print({ unit_path: result.unitPath, scope: result.scope, binary: result.binary, env_file: result.envFile, run_as: result.runAs ?? null, commands: result.commands });
      return;
    }
    say(`Wrote ${result.unitPath} (mode 0644; secrets stay in ${result.envFile}).`);
    say("Nothing was started. To enable and start the worker, run:");
    for (const command of result.commands) say(`  ${command}`);
  },
});

export default defineCommand({
  meta: { name: "service", description: "Run the worker as a systemd service" },
  subCommands: { install },
});
