/** Flags shared by several commands, spread into each command's `args`. */
export const jsonArg = {
  json: { type: "boolean", description: "Print one JSON document on stdout (logs stay on stderr)" },
} as const;

export const verboseArg = {
  verbose: { type: "boolean", description: "Show stack traces on errors" },
} as const;

export const baseArg = {
  base: { type: "string", description: "Basis API base URL (default: BASIS_BASE_URL from the env file or environment, else https://basis.watch)", valueHint: "url" },
} as const;

export const envFileArg = {
  "env-file": { type: "string", description: "The worker's .env (from setup --write-env): read the worker id, wallet and API base from it; flags win", valueHint: "path" },
} as const;

/** Not `required`: the id may come from --env-file instead (lib/io/worker-identity.ts checks). */
export const workerIdArg = {
  "worker-id": { type: "string", description: "The worker id (a short slug; default: BASIS_WORKER_ID from --env-file)", valueHint: "id" },
} as const;

export const canaryArgs = {
  "worker-bin": { type: "string", description: "basis-worker binary to test (default: the one next to this binary)", valueHint: "path" },
  ...jsonArg,
} as const;
