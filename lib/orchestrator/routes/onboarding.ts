/**
 * `GET /api/workers/onboarding/status[?worker_id=]`: where an operator stands, row by row, in
 * plain words. Routing here means this orchestrator only; settlement is gated (dry run).
 */
import * as v from "valibot";
import { type AnswerOf, OnboardingSchema, type OnboardingRowSchema, WorkerIdSchema } from "../../core/api-contract.ts";
import { answer, type Handler, HttpError } from "../http.ts";
import { SETTLEMENT } from "../rewards.ts";
import type { ApiDeps } from "./_api.ts";
import { presenceOf, type WorkerView, workerView } from "./workers.ts";

type Row = AnswerOf<typeof OnboardingRowSchema>;


function runtimeRow(workerId: string | undefined, worker: WorkerView | undefined, connected: boolean): Row {
  const name = "Inference runtime";
  if (!workerId) return { name, state: "not_checked", detail: "Checked on the worker's host: run basis-worker setup --check there." };
  if (!worker || !connected) return { name, state: "unknown", detail: "The worker is not connected, so its runtime cannot be seen from here." };
  if (!worker.available) return { name, state: "unavailable", detail: `${worker.runtime} is connected but reports its backend down or is draining.` };
  return { name, state: "ready", detail: `${worker.runtime} serving ${worker.models.join(", ")}.` };
}

function registrationRow(deps: ApiDeps, workerId: string | undefined, worker: WorkerView | undefined): Row {
  const storage = deps.store.durable ? "Stored durably (survives a restart)." : "Stored in memory only: lost when this orchestrator stops.";
  if (!workerId) return { name: "Registration", state: "live", detail: storage };
  if (!worker) return { name: "Registration", state: "not_registered", detail: `Worker ${workerId} is not registered: run basis-worker register.` };
  return { name: "Registration", state: "registered", detail: `Worker ${workerId} is registered to wallet ${worker.worker_wallet}. ${storage}` };
}

function canReceiveRow(canReceive: boolean, workerId: string | undefined, worker: WorkerView | undefined, connected: boolean): Row {
  const name = "Can receive jobs";
  if (canReceive) return { name, state: "yes", detail: workerId ? `Worker ${workerId} is connected and available.` : "At least one connected worker is available." };
  if (!workerId) return { name, state: "no", detail: "No connected worker is available; start one with basis-worker start." };
  if (!worker) return { name, state: "no", detail: `Worker ${workerId} is not registered.` };
  if (connected) return { name, state: "no", detail: `Worker ${workerId} is connected, but its backend is down or it is draining, so it takes no jobs.` };
  if (worker.online) return { name, state: "no", detail: `Worker ${workerId} sends heartbeats but has no live connection to this orchestrator; jobs travel only over that connection.` };
  return { name, state: "no", detail: `Worker ${workerId} is offline: start it with basis-worker start.` };
}

export function onboardingRoute(deps: ApiDeps): Handler {
  return async ({ url }) => {
    const workerId = url.searchParams.get("worker_id") ?? undefined;
    if (workerId !== undefined && !v.is(WorkerIdSchema, workerId)) {
      throw new HttpError(400, "invalid_worker_id", "The worker id is not a short slug.", { field: "worker_id" });
    }
    const [records, live] = await Promise.all([deps.store.listWorkers(), deps.fleet.all()]);
    const liveById = new Map(live.map((session) => [session.info.worker_id, session]));
    const workersOnline = records.filter((record) => presenceOf(deps, record, liveById.get(record.worker_id)).online).length;
    const routable = live.filter((session) => session.available && !session.draining);
    const worker = workerId ? await workerView(deps, workerId) : undefined;
    const connected = workerId ? liveById.has(workerId) : false;
    // Jobs travel over the socket only, so a worker that merely heartbeats over HTTP cannot receive one.
    const canReceiveJobs = workerId ? worker?.available === true : routable.length > 0;
    const listenUrl = deps.url?.();
    const rows: Row[] = [
      runtimeRow(workerId, worker, connected),
      registrationRow(deps, workerId, worker),
      {
        name: "Job routing",
        state: "enabled",
        detail: "On for this orchestrator only: jobs sent to its POST /v1/dispatch go to its connected workers. This is not basis.watch production routing.",
      },
      {
        name: "Orchestrator",
        state: "up",
        detail: `${workersOnline} worker(s) online.${deps.devMode ? " Dev mode: any worker with the dev token may connect, and no job is payable." : ""}`,
      },
      canReceiveRow(canReceiveJobs, workerId, worker, connected),
      { name: "Settlement", state: "gated", detail: "Dry run: rewards are tracked off-chain as pending; there is no on-chain payout or claim." },
    ];
    return answer(OnboardingSchema, 200, {
      registration: { state: "live", durable: deps.store.durable },
      jobRouting: { enabled: true, scope: "this orchestrator" },
      orchestrator: { ...(listenUrl ? { url: listenUrl } : {}), workersOnline, devMode: deps.devMode },
      ...(workerId ? { worker: { worker_id: workerId, registered: worker !== undefined, online: worker?.online ?? false, available: worker?.available ?? false } } : {}),
      canReceiveJobs,
      settlement: { state: SETTLEMENT.state, mode: SETTLEMENT.mode },
      rows,
    });
  };
}
