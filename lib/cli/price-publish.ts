import { defineCommand } from "citty";
import { baseArg, jsonArg } from "./_args.ts";

export default defineCommand({
  meta: {
    name: "publish",
    description: "Sign the prices file with the reward wallet (EIP-191) and publish it. The key is read from a 0600 file, an env var or the macOS Keychain, never the command line",
  },
  args: {
    "worker-id": { type: "string", description: "The registered worker id", valueHint: "id", required: true },
    prices: { type: "string", description: "Prices file (see templates/prices.example.json)", valueHint: "path", required: true },
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
    const { publishPrices } = await import("../io/price-publish.ts");
    await publishPrices({
      workerId: args["worker-id"],
      pricesPath: args.prices,
      keyFile: args["key-file"],
      keyEnv: args["key-env"],
      keychain: args.keychain,
      wallet: args.wallet,
      ttlDays: args["ttl-days"],
      dryRun: args["dry-run"] === true,
      base: args.base,
      json: args.json === true,
    });
  },
});
