import { defineCommand } from "citty";

export default defineCommand({
  meta: {
    name: "token",
    description: "Mint a worker token bound to one wallet from BASIS_WORKER_AUTH_KEY (read from the environment), so workers get tokens and never the key; prints the token alone on stdout",
  },
  args: {
    wallet: { type: "string", description: "The worker's PUBLIC reward address (0x + 40 hex)", valueHint: "0x…", required: true },
  },
  async run({ args }) {
    const { mintTokenCommand } = await import("../canary/token-command.ts");
    await mintTokenCommand({ wallet: args.wallet });
  },
});
