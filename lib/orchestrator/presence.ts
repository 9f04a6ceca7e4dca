/**
 * Whether a worker reads online. Two sources count and are tracked apart: a connected
 * Socket.io session (its own ping/pong notices a dead link within about a minute) and the last
 * HTTP heartbeat, which counts for a window. A socket that disconnects stops counting at once,
 * so a worker that only ever used its socket reads offline the moment it goes away.
 */
import { ORCHESTRATOR_ENV } from "../core/env-schema.ts";

export const DEFAULT_HEARTBEAT_WINDOW_MS = ORCHESTRATOR_ENV.BASIS_HEARTBEAT_WINDOW_MS.fallback;

export interface PresenceEvidence {
  connected: boolean;
  lastHeartbeatAt: number | null;
  lastSeenAt: number | null;
  now: number;
  windowMs: number;
}

export interface Presence {
  online: boolean;
  /** Epoch ms; a connected worker is seen now. */
  lastSeenAt: number | null;
  via: "socket" | "heartbeat" | null;
}

export function judgePresence(evidence: PresenceEvidence): Presence {
  const { connected, lastHeartbeatAt, lastSeenAt, now, windowMs } = evidence;
  if (connected) return { online: true, lastSeenAt: now, via: "socket" };
  const beatRecently = lastHeartbeatAt !== null && now - lastHeartbeatAt <= windowMs;
  const seen = Math.max(lastSeenAt ?? Number.NEGATIVE_INFINITY, lastHeartbeatAt ?? Number.NEGATIVE_INFINITY);
  return { online: beatRecently, lastSeenAt: Number.isFinite(seen) ? seen : null, via: beatRecently ? "heartbeat" : null };
}
