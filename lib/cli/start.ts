import { defineCommand } from "citty";
// Embedded as text: `start --help` lists the variables it reads, described as in the template.
import template from "../../templates/worker.env.example" with { type: "text" };
import { verboseArg } from "./_args.ts";

/**
 * What `start --help` lists: the template's variables as the template describes them, then the
 * rest of the env contract (WORKER_ENV: timings and logs). Loaded on demand: the schema brings
 * the wallet checksum, too heavy for every start of the CLI.
 */
export async function startEnvironment(): Promise<[string, string][]> {
  const [{ describeTemplate }, { describeEnvVar, WORKER_ENV }] = await Promise.all([import("../core/env-template.ts"), import("../core/env-schema.ts")]);
  const listed = describeTemplate(template);
  const names = new Set(listed.map(([name]) => name));
  const rest = Object.entries(WORKER_ENV).filter(([name]) => !names.has(name) && name !== "BASIS_WORKER_PRIVATE_KEY");
  return [...listed, ...rest.map(([name, spec]): [string, string] => [name, describeEnvVar(spec)])];
}

export default Object.assign(
  defineCommand({
    meta: {
      name: "start",
      description:
        "Run the worker: connect to the orchestrator and serve jobs until stopped. Settings come from the environment and --env-file (listed below); a failed connection is logged with its URL and cause and retried with backoff; a refusal by the orchestrator exits 3",
    },
    args: {
      "env-file": { type: "string", description: "Read settings from this .env file (variables already set win)", valueHint: "path" },
      pull: { type: "boolean", description: "Ollama only: pull BASIS_OLLAMA_MODEL first, with a progress bar" },
      ...verboseArg,
    },
    async run({ args }) {
      const { startWorker } = await import("../worker/start-worker.ts");
      await startWorker({ envFile: args["env-file"], pull: args.pull === true });
    },
  }),
  { environment: startEnvironment },
);
