import { defineCommand } from "citty";
import { baseArg, envFileArg, jsonArg, workerIdArg } from "./_args.ts";

export default defineCommand({
  meta: {
    name: "register",
    description: "Register a worker id and its PUBLIC reward wallet with the Basis API (registration is not routing). With --env-file, registers exactly what `start` will run",
  },
  args: {
    wallet: { type: "string", description: "Your PUBLIC reward wallet address (0x + 40 hex); never a key (default: BASIS_WORKER_WALLET from --env-file)", valueHint: "0x..." },
    ...workerIdArg,
    ...envFileArg,
    runtime: { type: "string", description: "echo | ollama | vllm | llamacpp | openai (default: from --env-file, else echo)", valueHint: "name" },
    models: { type: "string", description: "Comma-separated Basis model names (default: from --env-file, else basis-default)", valueHint: "a,b" },
    ...baseArg,
    ...jsonArg,
  },
  async run({ args }) {
    // Loaded here, not at the top, so --help stays light.
    const [{ hostname }, { parseWallet }, config, fields, { resolveIdentity }, { createBasisApi }, format, { print, say }] = await Promise.all([
      import("node:os"),
      import("../core/wallet.ts"),
      import("../core/worker-config.ts"),
      import("../core/worker-fields.ts"),
      import("../io/worker-identity.ts"),
      import("../io/basis-api.ts"),
      import("../core/status-format.ts"),
      import("./_run.ts"),
    ]);
    // Everything is checked before the first byte leaves this machine.
    const { workerId, base, env } = await resolveIdentity("register", args);
    // From an env file, the runtime and models are the ones `start` will advertise.
    const planned = args["env-file"] ? config.readWorkerConfig(env, hostname()) : undefined;
    const models = fields.parseModelList(args.models);
    const request = {
      worker_id: workerId as string,
      worker_wallet: parseWallet(args.wallet ?? env.BASIS_WORKER_WALLET, args.wallet === undefined && env.BASIS_WORKER_WALLET ? "BASIS_WORKER_WALLET" : "--wallet"),
      runtime: fields.parseRuntimeName(args.runtime ?? planned?.runtime ?? "echo"),
      models: models.length > 0 ? models : (planned?.models ?? ["basis-default"]),
    };
    const api = createBasisApi({ base });
    // What was registered before, to report what this registration changes (unknown if it cannot be read).
    const before = await createBasisApi({ base, tries: 1 }).getWorker(request.worker_id).catch(() => undefined);
    const result = await api.register(request);
    const changes = format.describeChanges(result.created === false ? before : undefined, request);
    if (args.json) {
      print({ registered: true, created: result.created ?? null, changed: changes, worker: result.worker ?? request, base: api.base, note: format.ROUTING_NOTE });
    } else {
      say(format.formatRegistration(result, request, changes, args["env-file"]));
    }
  },
});
