/**
 * Fills in the worker env template (templates/worker.env.example): sets the values of the
 * given keys, keeps every comment and the order. Secrets are never written by a program: the
 * operator types them into the 0600 file on the host, so a non-blank secret value is refused.
 */
import { formatDotenvValue } from "./dotenv.ts";
import { BasisError } from "./errors.ts";
import { SECRET_ENV_NAMES, type WORKER_ENV } from "./env-schema.ts";
import { SECRET_WARNING, secretKind } from "./secrets.ts";

/**
 * The variables templates/worker.env.example lists, in its order: the ones an operator sets.
 * Each is an entry of WORKER_ENV (env-schema.ts), which also holds the tuning ones left out here.
 */
export const WORKER_ENV_NAMES = [
  "BASIS_WORKER_WALLET",
  "BASIS_WORKER_ID",
  "BASIS_WORKER_RUNTIME",
  "BASIS_WORKER_MODELS",
  "BASIS_ORCHESTRATOR_URL",
  "BASIS_WORKER_TOKEN",
  "BASIS_WORKER_AUTH_KEY",
  "BASIS_WORKER_CONCURRENCY",
  "BASIS_OLLAMA_URL",
  "BASIS_OLLAMA_MODEL",
  "BASIS_VLLM_URL",
  "BASIS_VLLM_MODEL",
  "BASIS_VLLM_API_KEY",
  "BASIS_LLAMACPP_URL",
  "BASIS_LLAMACPP_MODEL",
  "BASIS_LLAMACPP_API_KEY",
  "BASIS_OPENAI_URL",
  "BASIS_OPENAI_MODEL",
  "BASIS_OPENAI_API_KEY",
  "BASIS_BASE_URL",
] as const satisfies readonly (keyof typeof WORKER_ENV)[];
export type WorkerEnvName = (typeof WORKER_ENV_NAMES)[number];

const ASSIGNMENT = /^(\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*)(.*)$/;
/** Names that hold secrets by convention, beyond the listed ones: a new API key is covered too. */
const SECRET_NAME = /(?:TOKEN|SECRET|PASSWORD|PRIVATE_KEY|API_KEY|AUTH_KEY)S?$/;
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f]/;

export function renderWorkerEnv(template: string, values: Record<string, string>): string {
  for (const [key, value] of Object.entries(values)) refuseUnsafe(key, value);
  const unused = new Set(Object.keys(values));
  const lines = template.split("\n").map((line) => {
    const ending = line.endsWith("\r") ? "\r" : "";
    const match = ASSIGNMENT.exec(ending ? line.slice(0, -1) : line);
    const key = match?.[2];
    if (!match || key === undefined || !Object.hasOwn(values, key)) return line;
    unused.delete(key);
    return `${match[1]}${formatDotenvValue(values[key] as string)}${keepComment(match[3] as string)}${ending}`;
  });
  const [missing] = unused;
  if (missing !== undefined) {
    throw new BasisError("env_template_key_missing", `The worker env template has no ${missing} line.`, {
      hint: "Use a template that lists every worker variable (templates/worker.env.example).",
    });
  }
  return lines.join("\n");
}

export function isSecretEnvName(key: string): boolean {
  return SECRET_ENV_NAMES.includes(key) || SECRET_NAME.test(key);
}

function refuseUnsafe(key: string, value: string): void {
  if (isSecretEnvName(key) && value !== "") {
    throw new BasisError("secret_not_written", `Refused to write ${key}: secrets are never written by basis-worker.`, {
      exitCode: 2,
      hint: `Open the written file on the worker host and fill in ${key} there yourself; never pass it as a flag.`,
    });
  }
  if (secretKind(value)) {
    throw new BasisError("secret_refused", `Refused the value for ${key}: ${SECRET_WARNING}`, { exitCode: 2 });
  }
  if (CONTROL.test(value)) {
    throw new BasisError("env_value_invalid", `The value for ${key} holds a control character.`, {
      exitCode: 2,
      hint: "Pass it again as plain single-line text.",
    });
  }
}

/** The ` # note` after a value in the template survives a new value. */
function keepComment(rest: string): string {
  const quote = rest[0];
  if (quote === '"' || quote === "'") {
    const close = findClosingQuote(rest, quote);
    const after = close < 0 ? "" : rest.slice(close + 1);
    return /^\s+#/.test(after) ? after : "";
  }
  const hash = rest.search(/\s#/);
  return hash < 0 ? "" : rest.slice(hash);
}

function findClosingQuote(text: string, quote: string): number {
  for (let i = 1; i < text.length; i++) {
    if (quote === '"' && text[i] === "\\") i++;
    else if (text[i] === quote) return i;
  }
  return -1;
}

/** The template's variables with their comments, as `[name, about]` pairs (for `start --help`). */
export function describeTemplate(template: string): [string, string][] {
  const pairs: [string, string][] = [];
  let comment: string[] = [];
  for (const line of template.split("\n")) {
    const assignment = ASSIGNMENT.exec(line);
    if (line.startsWith("#")) comment.push(line.replace(/^#\s?/, ""));
    else if (assignment) {
      pairs.push([assignment[2] as string, comment.join(" ")]);
      comment = [];
    } else comment = [];
  }
  return pairs;
}
