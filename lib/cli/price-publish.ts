import { defineCommand } from "citty";
import { baseArg, envFileArg, jsonArg, workerIdArg } from "./_args.ts";

const command = defineCommand({
  meta: {
    name: "publish",
    description: "Sign the prices file with the reward wallet (EIP-191) and publish it. The key is read from a 0600 file, an env var or the macOS Keychain, never the command line",
  },
  args: {
    ...workerIdArg,
    ...envFileArg,
    prices: { type: "string", description: "Prices file (see templates/prices.example.json); required", valueHint: "path" },
    "key-file": { type: "string", description: "File holding only the reward wallet's hex private key (mode 0600 or 0400)", valueHint: "path" },
    "key-env": { type: "string", description: "Environment variable holding the key (default BASIS_WORKER_PRIVATE_KEY)", valueHint: "name" },
    keychain: { type: "string", description: "macOS Keychain generic password SERVICE:ACCOUNT", valueHint: "service:account" },
    wallet: { type: "string", description: "The worker's PUBLIC wallet (default: the registered one; with --dry-run, the key's address)", valueHint: "0x..." },
    "ttl-days": { type: "string", description: "Days the offer stays valid (default 7, at most 30)", valueHint: "n" },
    "dry-run": { type: "boolean", description: "Build, sign and self-verify, but post nothing" },
    ...baseArg,
    ...jsonArg,
  },
  async run({ args }) {
    const [{ publishPrices }, { resolveIdentity }, { usageError }] = await Promise.all([
      import("../io/price-publish.ts"),
      import("../io/worker-identity.ts"),
      import("../core/usage.ts"),
    ]);
    if (args.prices === undefined) throw usageError("usage_missing_flag", "price publish needs --prices.", "e.g. --prices ./prices.json (start from templates/prices.example.json).");
    const identity = await resolveIdentity("price publish", args);
    await publishPrices({
      workerId: identity.workerId as string,
      pricesPath: args.prices,
      keyFile: args["key-file"],
      keyEnv: args["key-env"],
      keychain: args.keychain,
      wallet: args.wallet,
      ttlDays: args["ttl-days"],
      dryRun: args["dry-run"] === true,
      base: args.base ?? (identity.env.BASIS_BASE_URL ? identity.base : undefined),
      json: args.json === true,
    });
  },
});

/** Checked by the runner before anything else: a key on this command line is refused with this command's own code. */
export default Object.assign(command, {
  refuseArgv: async (argv: readonly string[]) => (await import("../io/key-source.ts")).refuseKeyOnCommandLine(argv),
});
