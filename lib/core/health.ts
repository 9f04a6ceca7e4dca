/**
 * What `healthcheck` answers: healthy only when the worker is online AND can serve. A worker
 * whose backend died stays connected (online) but takes no jobs; a supervisor must see that.
 */
import type { WorkerView } from "./status-format.ts";

export type HealthReason = "serving" | "offline" | "cannot_serve" | "unknown";

export interface Health {
  healthy: boolean;
  reason: HealthReason;
  online: boolean;
  /** False when the backend is down or the worker drains; null when the API does not say. */
  available: boolean | null;
  line: string;
}

export function judgeHealth(workerId: string, worker: WorkerView): Health {
  const online = worker.online === true;
  const available = typeof worker.available === "boolean" ? worker.available : null;
  if (!online) return { healthy: false, reason: "offline", online, available, line: `unhealthy: worker ${workerId} is offline` };
  if (available === false) {
    return {
      healthy: false,
      reason: "cannot_serve",
      online,
      available,
      line: `unhealthy: worker ${workerId} is online but cannot serve (its backend is down, it is draining, or it has no live connection)`,
    };
  }
  return { healthy: true, reason: "serving", online, available, line: `ok: worker ${workerId} is online and can serve` };
}
