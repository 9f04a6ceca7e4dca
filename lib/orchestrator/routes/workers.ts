/** Worker records as the Basis API serves them: `GET /api/workers/:id`. */
import { type AnswerOf, WorkerAnswerSchema, type WorkerSchema } from "../../core/api-contract.ts";
import { WORKER_ID_PATTERN } from "../../core/worker-id.ts";
import { answer, type Handler, HttpError } from "../http.ts";
import type { LiveWorker } from "../fleet.ts";
import { judgePresence, type Presence } from "../presence.ts";
import type { WorkerRecord } from "../store.ts";
import { type ApiDeps, toIso } from "./_api.ts";

export type WorkerRouteDeps = ApiDeps;

/** `live`: the worker's socket session on any instance, if it has one. */
export function presenceOf(deps: ApiDeps, record: WorkerRecord, live: LiveWorker | undefined): Presence {
  return judgePresence({
    connected: live !== undefined,
    lastHeartbeatAt: record.last_heartbeat_at,
    lastSeenAt: record.last_seen_at,
    now: deps.now(),
    windowMs: deps.heartbeatWindowMs,
  });
}

export type WorkerView = AnswerOf<typeof WorkerSchema>;

export async function workerView(deps: ApiDeps, workerId: string): Promise<WorkerView | undefined> {
  const [record, session] = await Promise.all([deps.store.getWorker(workerId), deps.fleet.get(workerId)]);
  return record ? describeWorker(deps, record, session) : undefined;
}

function describeWorker(deps: ApiDeps, record: WorkerRecord, session: LiveWorker | undefined): WorkerView {
  const presence = presenceOf(deps, record, session);
  return {
    worker_id: record.worker_id,
    worker_wallet: record.worker_wallet,
    runtime: session?.info.runtime ?? record.runtime,
    models: session?.info.models ?? record.models,
    online: presence.online,
    // Only a socket session can be routed jobs; an HTTP heartbeat alone keeps a worker online, not available.
    available: session ? session.available && !session.draining : false,
    activeJobs: session?.active ?? 0,
    capacity: session?.info.concurrency ?? 0,
    // What the orchestrator trusts it with now (docs/PROTOCOL.md, "Earned capacity", "Spot checks").
    earnedCapacity: session?.capacity ?? 0,
    coolingDownUntil: session && session.cooldownUntil > deps.now() ? new Date(session.cooldownUntil).toISOString() : null,
    unverified: session?.unverified ?? false,
    jobsCompleted: record.jobs_completed,
    registeredAt: new Date(record.registered_at).toISOString(),
    lastSeenAt: toIso(presence.lastSeenAt),
  };
}

/** The :id parameter checked, and the record it names, or the API's 400/404. */
export async function requireWorker(deps: ApiDeps, id: string | undefined): Promise<WorkerRecord> {
  const workerId = id ?? "";
  if (!WORKER_ID_PATTERN.test(workerId)) throw new HttpError(400, "invalid_worker_id", "The worker id is not a short slug.");
  const record = await deps.store.getWorker(workerId);
  if (!record) throw new HttpError(404, "worker_not_found", `No worker ${workerId} is registered.`);
  return record;
}

export function getWorkerRoute(deps: ApiDeps): Handler {
  return async ({ params }) => {
    const record = await requireWorker(deps, params.id);
    return answer(WorkerAnswerSchema, 200, { worker: describeWorker(deps, record, await deps.fleet.get(record.worker_id)) });
  };
}
