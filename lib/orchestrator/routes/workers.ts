/** Worker records as the Basis API serves them: `GET /api/workers/:id`. */
import { WORKER_ID_PATTERN } from "../../core/worker-config.ts";
import { type Handler, HttpError, sendJson } from "../http.ts";
import type { SessionRegistry } from "../sessions.ts";
import type { Store } from "../store.ts";

export interface WorkerRouteDeps {
  store: Store;
  registry: SessionRegistry;
}

export function workerView(deps: WorkerRouteDeps, workerId: string) {
  const record = deps.store.getWorker(workerId);
  if (!record) return undefined;
  const session = deps.registry.get(workerId);
  return {
    worker_id: record.worker_id,
    worker_wallet: record.worker_wallet,
    runtime: session?.info.runtime ?? record.runtime,
    models: session?.info.models ?? record.models,
    online: session !== undefined,
    available: session ? session.available && !session.draining : false,
    activeJobs: session?.active ?? 0,
    capacity: session?.info.concurrency ?? 0,
    jobsCompleted: record.jobs_completed,
    registeredAt: new Date(record.registered_at).toISOString(),
    lastSeenAt: session ? new Date().toISOString() : record.last_seen_at ? new Date(record.last_seen_at).toISOString() : null,
  };
}

export function getWorkerRoute(deps: WorkerRouteDeps): Handler {
  return ({ res, params }) => {
    const id = params.id ?? "";
    if (!WORKER_ID_PATTERN.test(id)) throw new HttpError(400, "invalid_worker_id", "The worker id is not a short slug.");
    const worker = workerView(deps, id);
    if (!worker) throw new HttpError(404, "worker_not_found", `No worker ${id} is registered.`);
    sendJson(res, 200, { worker });
  };
}
