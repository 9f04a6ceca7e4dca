import { defineCommand } from "citty";
import { baseArg, jsonArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "register", description: "Register a worker id and its PUBLIC reward wallet with the Basis API (registration is not routing)" },
  args: {
    wallet: { type: "string", description: "Your PUBLIC reward wallet address (0x + 40 hex); never a key", valueHint: "0x...", required: true },
    "worker-id": { type: "string", description: "The worker id (a short slug)", valueHint: "id", required: true },
    runtime: { type: "string", description: "echo | ollama | vllm | openai", default: "echo", valueHint: "name" },
    models: { type: "string", description: "Comma-separated Basis model names (default basis-default)", valueHint: "a,b" },
    ...baseArg,
    ...jsonArg,
  },
  async run({ args }) {
    // Loaded here, not at the top, so --help stays light (wallet.ts pulls in viem).
    const [{ parseWallet }, { parseModelList, parseRuntimeName }, { parseWorkerId }, { createBasisApi, resolveBaseUrl }, { formatRegistration, ROUTING_NOTE }, { print, say }] = await Promise.all([
      import("../core/wallet.ts"),
      import("../core/worker-fields.ts"),
      import("../core/worker-id.ts"),
      import("../io/basis-api.ts"),
      import("../core/status-format.ts"),
      import("./_run.ts"),
    ]);
    // Everything is checked before the first byte leaves this machine.
    const models = parseModelList(args.models);
    const request = {
      worker_id: parseWorkerId(args["worker-id"]),
      worker_wallet: parseWallet(args.wallet, "--wallet"),
      runtime: parseRuntimeName(args.runtime),
      models: models.length > 0 ? models : ["basis-default"],
    };
    const api = createBasisApi({ base: resolveBaseUrl(args.base, process.env.BASIS_BASE_URL) });
    const result = await api.register(request);
    if (args.json) {
      print({ registered: true, created: result.created ?? null, worker: result.worker ?? request, base: api.base, note: ROUTING_NOTE });
    } else {
      say(formatRegistration(result, request));
    }
  },
});
