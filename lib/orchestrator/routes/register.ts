/** `POST /api/workers/register` and `POST /api/workers/heartbeat`. */
import { HeartbeatAnswerSchema, HeartbeatBodySchema, RegisterBodySchema, RegistrationSchema, RESERVED_WORKER_IDS } from "../../core/api-contract.ts";
import { answer, type Handler, HttpError } from "../http.ts";
import { type ApiDeps, readApiBody } from "./_api.ts";
import { requireWorker, workerView } from "./workers.ts";

/** The same id and wallet again is an update (200); the id under another wallet is a 409. */
export function registerRoute(deps: ApiDeps): Handler {
  return async ({ request }) => {
    const body = await readApiBody(request, RegisterBodySchema);
    if (RESERVED_WORKER_IDS.includes(body.worker_id)) {
      throw new HttpError(400, "invalid_request", "worker_id names an API path; pick another.", { field: "worker_id" });
    }
    const outcome = await deps.store.registerWorker({ ...body, at: deps.now() });
    if (!outcome.ok) {
      throw new HttpError(409, "worker_id_taken", `Worker id ${body.worker_id} is already bound to another wallet.`, {
        field: "worker_id",
        hint: "Pick another worker id, or register it with the wallet it was first bound to.",
      });
    }
    const worker = await workerView(deps, body.worker_id);
    if (!worker) throw new Error("a registered worker could not be read back");
    return answer(RegistrationSchema, outcome.created ? 201 : 200, { worker, created: outcome.created });
  };
}

export function heartbeatRoute(deps: ApiDeps): Handler {
  return async ({ request }) => {
    const body = await readApiBody(request, HeartbeatBodySchema);
    const record = await requireWorker(deps, body.worker_id);
    if (body.worker_wallet && body.worker_wallet.toLowerCase() !== record.worker_wallet.toLowerCase()) {
      throw new HttpError(409, "wallet_mismatch", `Worker ${record.worker_id} is registered with another wallet.`, { field: "worker_wallet" });
    }
    const at = deps.now();
    await deps.store.recordHeartbeat(record.worker_id, at);
    return answer(HeartbeatAnswerSchema, 200, { ok: true, worker_id: record.worker_id, lastSeenAt: new Date(at).toISOString() });
  };
}
