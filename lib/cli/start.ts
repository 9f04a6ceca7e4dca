import { defineCommand } from "citty";
import { verboseArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "start", description: "Run the worker: connect to the orchestrator and serve jobs until stopped" },
  args: {
    "env-file": { type: "string", description: "Read settings from this .env file (variables already set win)", valueHint: "path" },
    pull: { type: "boolean", description: "Ollama only: pull BASIS_OLLAMA_MODEL first, with a progress bar" },
    ...verboseArg,
  },
  async run({ args }) {
    const { startWorker } = await import("../worker/start-worker.ts");
    await startWorker({ envFile: args["env-file"], pull: args.pull === true });
  },
});
