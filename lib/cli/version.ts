import { defineCommand } from "citty";
import { jsonArg } from "./_args.ts";

/** `basis-worker version` and `basis-canary version`: the same facts as `--version`. */
export function versionCommand(program: string) {
  return defineCommand({
    meta: { name: "version", description: "Print the version, build commit and target (--json for scripts)" },
    args: { ...jsonArg },
    async run({ args }) {
      const { printVersion } = await import("./_run.ts");
      printVersion(program, args.json === true);
    },
  });
}
