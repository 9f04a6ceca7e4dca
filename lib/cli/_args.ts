/** Flags shared by several commands, spread into each command's `args`. */
export const jsonArg = {
  json: { type: "boolean", description: "Print one JSON document on stdout (logs stay on stderr)" },
} as const;

export const verboseArg = {
  verbose: { type: "boolean", description: "Show stack traces on errors" },
} as const;

export const baseArg = {
  base: { type: "string", description: "Basis API base URL (default: $BASIS_BASE_URL or https://basis.watch)", valueHint: "url" },
} as const;

export const workerIdArg = {
  "worker-id": { type: "string", description: "The worker id (a short slug)", valueHint: "id", required: true },
} as const;

export const canaryArgs = {
  "worker-bin": { type: "string", description: "basis-worker binary to test (default: the one next to this binary)", valueHint: "path" },
  ...jsonArg,
} as const;
