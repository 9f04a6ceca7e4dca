import { defineCommand } from "citty";
// Embedded as text so the compiled binary carries the template (Bun and Deno 2 both support this).
import template from "../../templates/worker.env.example" with { type: "text" };
import { jsonArg } from "./_args.ts";

interface WriteEnvArgs {
  wallet?: string | undefined;
  runtime?: string | undefined;
  orchestrator?: string | undefined;
  out?: string | undefined;
  "worker-id"?: string | undefined;
  models?: string | undefined;
  "backend-model"?: string | undefined;
  "backend-url"?: string | undefined;
  base?: string | undefined;
  force?: boolean | undefined;
  json?: boolean | undefined;
}

export default defineCommand({
  meta: { name: "setup", description: "Check this host (--check: GPUs, Docker, Ollama, vLLM, llama.cpp) or write the worker .env (--write-env, mode 0600)" },
  args: {
    check: { type: "boolean", description: "Detect OS, GPUs, Docker, Ollama, vLLM and llama.cpp's server; say what is missing and what to run next. With --env-file, also check that file: the API answers, the backend serves the model, the orchestrator accepts the handshake (exit 1 if not)" },
    "env-file": { type: "string", description: "With --check: the worker .env to check end to end", valueHint: "path" },
    "write-env": { type: "boolean", description: "Write the worker .env from the template (0600, atomic, never overwritten without --force)" },
    wallet: { type: "string", description: "Your PUBLIC reward wallet address (0x + 40 hex); never a key", valueHint: "0x..." },
    runtime: { type: "string", description: "echo | ollama | vllm | llamacpp | openai", valueHint: "name" },
    orchestrator: { type: "string", description: "Orchestrator URL (ws://host:8787 or wss://host)", valueHint: "url" },
    out: { type: "string", description: "Where to write the .env", valueHint: "path" },
    "worker-id": { type: "string", description: "The worker id (default: derived from the host name)", valueHint: "id" },
    models: { type: "string", description: "Comma-separated Basis model names to advertise (default basis-default)", valueHint: "a,b" },
    "backend-model": { type: "string", description: "The model your Ollama / vLLM / OpenAI-compatible server serves (default for Ollama and vLLM: the one model it serves, when it serves exactly one)", valueHint: "name" },
    "backend-url": { type: "string", description: "Your backend's URL (default: the runtime's local default)", valueHint: "url" },
    force: { type: "boolean", description: "Replace an existing --out file" },
    base: { type: "string", description: "Basis API base URL written as BASIS_BASE_URL (default: a self-hosted orchestrator's own origin; https://basis.watch for *.basis.watch)", valueHint: "url" },
    ...jsonArg,
  },
  async run({ args }) {
    const { inputError } = await import("../core/errors.ts");
    if (args.check && args["write-env"]) throw inputError("setup_mode_conflict", "Pass --check or --write-env, not both.");
    if (args["write-env"] && args["env-file"] !== undefined) throw inputError("setup_mode_conflict", "--env-file goes with --check; --write-env writes the file named by --out.");
    await refuseSecretFlags(args);
    if (args["write-env"]) await writeEnv(args);
    else await checkHost(args.json === true, args["env-file"]);
  },
});

/** A key or phrase pasted into any flag is refused before anything else reads it, and never echoed. */
async function refuseSecretFlags(args: Record<string, unknown>): Promise<void> {
  const [{ secretKind, SECRET_WARNING }, { inputError }] = await Promise.all([import("../core/secrets.ts"), import("../core/errors.ts")]);
  for (const [name, value] of Object.entries(args)) {
    if (name === "_" || typeof value !== "string" || !secretKind(value)) continue;
    throw inputError("secret_refused", `Refused --${name}: ${SECRET_WARNING}`);
  }
}

async function checkHost(json: boolean, envFile: string | undefined): Promise<void> {
  const [{ detectHost }, { formatHostTable }, { readEnvVar, WORKER_ENV }, { loadWorkerEnv }, { print, say }] = await Promise.all([
    import("../io/detect-host.ts"),
    import("../core/detect/format-host-table.ts"),
    import("../core/env-schema.ts"),
    import("../io/env-source.ts"),
    import("./_run.ts"),
  ]);
  // The backends the env file points at, when there is one.
  const { env } = await loadWorkerEnv(envFile);
  const [report, checks] = await Promise.all([
    detectHost({
      ollamaUrl: readEnvVar("BASIS_OLLAMA_URL", WORKER_ENV.BASIS_OLLAMA_URL, env.BASIS_OLLAMA_URL),
      vllmUrl: readEnvVar("BASIS_VLLM_URL", WORKER_ENV.BASIS_VLLM_URL, env.BASIS_VLLM_URL),
      llamacppUrl: readEnvVar("BASIS_LLAMACPP_URL", WORKER_ENV.BASIS_LLAMACPP_URL, env.BASIS_LLAMACPP_URL),
    }),
    envFile === undefined ? undefined : import("../worker/check-env.ts").then((m) => m.checkWorkerEnv(envFile)),
  ]);
  if (checks?.some((check) => !check.ok)) process.exitCode = 1;
  if (json) {
    print({ ...report, ...(checks ? { checks } : {}) });
    return;
  }
  say(formatHostTable(report));
  if (checks) {
    const width = Math.max(...checks.map((check) => check.name.length)) + 2;
    say(`\n${envFile}\n${checks.map((check) => `${check.ok ? "ok  " : "FAIL"}  ${check.name.padEnd(width)}${check.detail}`).join("\n")}`);
  }
}

async function writeEnv(args: WriteEnvArgs): Promise<void> {
  const [{ hostname }, { resolve }, errors, { parseWallet }, config, fields, ids, urls, { renderWorkerEnv }, { parseDotenv }, { resolveBaseUrl }, { apiBaseFor }, { describeUrl }] =
    await Promise.all([
      import("node:os"),
      import("node:path"),
      import("../core/errors.ts"),
      import("../core/wallet.ts"),
      import("../core/worker-config.ts"),
      import("../core/worker-fields.ts"),
      import("../core/worker-id.ts"),
      import("../core/urls.ts"),
      import("../core/env-template.ts"),
      import("../core/dotenv.ts"),
      import("../io/basis-api.ts"),
      import("../core/socket-target.ts"),
      import("../core/public-url.ts"),
    ]);
  const required = (name: "wallet" | "runtime" | "orchestrator" | "out"): string => {
    const value = args[name]?.trim();
    if (!value) throw errors.inputError(`${name}_missing`, `setup --write-env needs --${name}.`, "basis-worker setup --write-env --wallet 0x... --runtime echo --orchestrator ws://host:8787 --out ./worker.env");
    return value;
  };

  // Everything is validated before the file is touched: bad input writes nothing.
  const wallet = parseWallet(args.wallet, "--wallet");
  const runtime = fields.parseRuntimeName(required("runtime"));
  const orchestrator = urls.parseOrchestratorUrl(required("orchestrator"), "--orchestrator");
  const out = required("out");
  const workerId = ids.parseWorkerId(args["worker-id"]?.trim() || ids.defaultWorkerId(hostname()));
  const models = fields.parseModelList(args.models);
  const values: Record<string, string> = {
    BASIS_WORKER_WALLET: wallet,
    BASIS_WORKER_ID: workerId,
    BASIS_WORKER_RUNTIME: runtime,
    BASIS_ORCHESTRATOR_URL: orchestrator,
  };
  if (models.length > 0) values.BASIS_WORKER_MODELS = models.join(",");
  // The status commands read BASIS_BASE_URL from this file: a self-hosted orchestrator serves
  // the API on its own port, so that is where they must ask.
  // With several instances (a cluster, comma-separated) they share one API: the first one's.
  const derivedBase = args.base === undefined ? apiBaseFor(orchestrator.split(",")[0] as string) : undefined;
  const base = args.base !== undefined ? resolveBaseUrl(args.base, undefined) : derivedBase;
  if (base !== undefined) values.BASIS_BASE_URL = base;
  const backendPrefix = runtime === "echo" ? undefined : `BASIS_${runtime.toUpperCase()}`;
  for (const [flag, suffix] of [["backend-model", "MODEL"], ["backend-url", "URL"]] as const) {
    const value = args[flag]?.trim();
    if (!value) continue;
    if (!backendPrefix) throw errors.inputError("backend_flag_unused", `--${flag} does not apply to the echo runtime.`, "Drop it, or pick --runtime ollama, vllm, llamacpp or openai.");
    if (suffix === "MODEL" && /\s/.test(value)) throw errors.inputError("model_malformed", "--backend-model must not contain spaces.");
    const problem = suffix === "URL" ? urls.urlProblem(value, urls.HTTP_URL) : undefined;
    if (problem) throw errors.inputError("backend_url_malformed", `--backend-url ${problem}.`, `e.g. ${urls.DEFAULT_OLLAMA_URL}`);
    values[`${backendPrefix}_${suffix}`] = value;
  }
  const notes: string[] = [];
  if (derivedBase !== undefined) notes.push(`BASIS_BASE_URL=${derivedBase}: a self-hosted orchestrator serves the Basis API on its own port (pass --base to change).`);
  if (backendPrefix && (runtime === "ollama" || runtime === "vllm" || runtime === "llamacpp")) {
    // The backend this host runs: its URL from the environment, and its model when it serves exactly one.
    const fromEnv = process.env[`${backendPrefix}_URL`]?.trim();
    if (!values[`${backendPrefix}_URL`] && fromEnv) values[`${backendPrefix}_URL`] = fromEnv;
    if (!values[`${backendPrefix}_MODEL`]) {
      const { probeServedModels } = await import("../io/detect-host.ts");
      const defaults = { ollama: urls.DEFAULT_OLLAMA_URL, vllm: urls.DEFAULT_VLLM_URL, llamacpp: urls.DEFAULT_LLAMACPP_URL };
      const url = values[`${backendPrefix}_URL`] ?? defaults[runtime];
      const served = await probeServedModels(runtime, url);
      if (served.length === 1) {
        values[`${backendPrefix}_MODEL`] = served[0] as string;
        notes.push(`${backendPrefix}_MODEL=${served[0]}: the one model ${runtime} serves at ${describeUrl(url)}.`);
      } else if (served.length > 1) {
        notes.push(`${runtime} at ${describeUrl(url)} serves ${served.length} models (${served.slice(0, 8).join(", ")}): pick one with --backend-model.`);
      }
    }
  }

  const text = renderWorkerEnv(template, values);
  const pending = await checkStartReads(text, parseDotenv, config.readWorkerConfig, hostname());

  const [{ writeFileAtomicPrivate }, { checkGitIgnored }, { logger }, { print, say }] = await Promise.all([
    import("../io/secure-file.ts"),
    import("../io/git-ignore.ts"),
    import("../io/logger.ts"),
    import("./_run.ts"),
  ]);
  await writeFileAtomicPrivate(out, text, { force: args.force === true });
  const warnings: string[] = [];
  const git = await checkGitIgnored(out);
  if (git.inRepo && !git.ignored) warnings.push(`${out} is inside a git work tree and not ignored: add it to .gitignore so it is never committed.`);
  if (pending) warnings.push(pending);
  const next = [`basis-worker register --env-file ${out}`, `basis-worker start --env-file ${out}`];
  if (args.json) {
    print({ written: resolve(out), mode: "0600", worker_id: workerId, runtime, base: base ?? null, notes, warnings, next });
    return;
  }
  for (const warning of warnings) logger("setup").warn(warning);
  say(
    [
      `Wrote ${out} (mode 0600) for worker ${workerId}, runtime ${runtime}.`,
      ...notes,
      "The secrets (BASIS_WORKER_TOKEN, BASIS_WORKER_AUTH_KEY) are blank: the orchestrator's operator gives you one; type it into that file on this host, never as a flag (README: Where the secrets come from).",
      `Next: ${next.join(", then ")}`,
    ].join("\n"),
  );
}

/**
 * Reads the rendered file back the way `start` does, so setup never writes a file start rejects.
 * A backend setting only the operator can supply is reported, not fatal.
 */
async function checkStartReads(
  text: string,
  parseDotenv: (text: string, source?: string) => Record<string, string>,
  readWorkerConfig: (env: Record<string, string>, hostname: string) => unknown,
  host: string,
): Promise<string | undefined> {
  const { isBasisError } = await import("../core/errors.ts");
  try {
    readWorkerConfig(parseDotenv(text, "the rendered env"), host);
    return undefined;
  } catch (error) {
    if (isBasisError(error) && (error.code === "backend_model_missing" || error.code === "backend_url_missing")) {
      return `${error.message} Fill it in before starting (or pass --backend-model / --backend-url).`;
    }
    throw error;
  }
}
