/**
 * Which worker a job is offered to (docs/PROTOCOL.md, "Routing"): only workers whose runtime
 * honours every parameter the request sets, within the client's price cap, then a weighted
 * random pick among the eligible (lib/core/routing.ts).
 */
import type { InferenceRequest } from "../core/protocol.ts";
import { pickWeighted, routingWeights } from "../core/routing.ts";
import { unhonouredParam } from "../core/runtime-capabilities.ts";
import type { DispatchDeps, DispatchHooks } from "./dispatch.ts";
import { DispatchError } from "./dispatch-error.ts";
import type { LiveWorker } from "./fleet.ts";
import { DEFAULT_OUTPUT_ASK } from "./routing-state.ts";
import { isEligible, type SessionRegistry, type WorkerSession } from "./sessions.ts";

type ChoiceDeps = Pick<DispatchDeps, "registry" | "now" | "latency" | "prices" | "random">;
type ChoiceHooks = Pick<DispatchHooks, "workerId" | "maxPrice">;

/**
 * Workers whose runtime cannot honour a parameter the request sets are never offered the job;
 * when that leaves none of the model's workers, the client gets a 400 naming the parameter.
 */
export function refuseUnhonoured(registry: SessionRegistry, request: InferenceRequest, exclude: Set<WorkerSession>): void {
  let firstParam: string | undefined;
  let serving = 0;
  const runtimes = new Set<string>();
  for (const session of registry.serving(request.model)) {
    serving++;
    const param = unhonouredParam(session.info.runtime, request);
    if (param === undefined) continue;
    firstParam ??= param;
    runtimes.add(session.info.runtime);
    exclude.add(session);
  }
  if (serving > 0 && exclude.size === serving && firstParam !== undefined) {
    throw new DispatchError("unsupported_parameter", `\`${firstParam}\` as sent cannot be honoured by the ${[...runtimes].join("/")} runtime of the workers serving ${request.model}.`, { param: firstParam });
  }
}


/** A named worker (the canary), else a weighted pick among the eligible (lib/core/routing.ts). */
export function pickSession(deps: ChoiceDeps, model: string, tried: ReadonlySet<WorkerSession>, hooks: ChoiceHooks): WorkerSession | undefined {
  const { registry } = deps;
  if (hooks.workerId !== undefined) {
    const session = registry.get(hooks.workerId);
    return session && !tried.has(session) && session.info.models.includes(model) ? session : undefined;
  }
  const now = deps.now();
  const eligible = registry
    .serving(model)
    .filter((session) => !tried.has(session) && isEligible(session, now) && withinPrice(deps, session.info.worker_id, model, hooks));
  if (eligible.length <= 1) return eligible[0];
  const weights = routingWeights(
    eligible.map((session) => ({
      active: session.active,
      capacity: session.capacity,
      ...(deps.latency?.get(session.info.worker_id) ?? { ttftMs: undefined, tpotMs: undefined }),
      outputAsk: deps.prices?.outputAsk(session.info.worker_id, model) ?? DEFAULT_OUTPUT_ASK,
    })),
  );
  return eligible[pickWeighted(weights, deps.random)];
}

export function withinPrice(deps: ChoiceDeps, workerId: string, model: string, hooks: ChoiceHooks): boolean {
  if (hooks.maxPrice === undefined) return true;
  return (deps.prices?.outputAsk(workerId, model) ?? DEFAULT_OUTPUT_ASK) <= hooks.maxPrice;
}

export function anyWithinPrice(deps: ChoiceDeps, model: string, hooks: ChoiceHooks, remote: readonly LiveWorker[]): boolean {
  const ids = [...deps.registry.serving(model).map((s) => s.info.worker_id), ...remote.map((w) => w.info.worker_id)];
  return ids.some((id) => withinPrice(deps, id, model, hooks));
}

export function servesModel(registry: SessionRegistry, model: string): boolean {
  return registry.serving(model).length > 0;
}
