import { defineCommand } from "citty";
// Embedded as text: `start --help` lists the variables it reads, described as in the template.
import template from "../../templates/worker.env.example" with { type: "text" };
import { describeTemplate } from "../core/env-template.ts";
import { verboseArg } from "./_args.ts";

/** Read by `start` beyond the template's settings (timings and logs). */
const TUNING: [string, string][] = [
  ["BASIS_WORKER_MODEL_CONCURRENCY", "Per-model limits within BASIS_WORKER_CONCURRENCY: model=n[,model=n...]"],
  ["BASIS_FIRST_TOKEN_TIMEOUT_MS", "How long the backend may take to its first token before the job fails"],
  ["BASIS_JOB_TIMEOUT_MS", "How long one job may run on the backend"],
  ["BASIS_HEARTBEAT_MS", "How often the log says how the worker is doing (default 30000)"],
  ["BASIS_HEALTH_POLL_MS", "How often the backend's health is checked (default 5000)"],
  ["BASIS_DRAIN_TIMEOUT_MS", "How long a stop waits for in-flight jobs (default 30000)"],
  ["BASIS_LOG_LEVEL", "debug | info (default) | quiet"],
];

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
  { environment: [...describeTemplate(template), ...TUNING] },
);
