import { describe, expect, test } from "bun:test";
import { DEFAULT_HEARTBEAT_WINDOW_MS, judgePresence } from "../../lib/orchestrator/presence.ts";

const now = 1_000_000;
const windowMs = DEFAULT_HEARTBEAT_WINDOW_MS;

describe("judgePresence", () => {
  test("a connected socket is online and seen now, even with no heartbeat ever", () => {
    expect(judgePresence({ connected: true, lastHeartbeatAt: null, lastSeenAt: 5, now, windowMs })).toEqual({ online: true, lastSeenAt: now, via: "socket" });
  });

  test("an HTTP heartbeat counts up to and including the window's end", () => {
    expect(judgePresence({ connected: false, lastHeartbeatAt: now - windowMs, lastSeenAt: null, now, windowMs })).toMatchObject({ online: true, via: "heartbeat" });
    expect(judgePresence({ connected: false, lastHeartbeatAt: now - windowMs - 1, lastSeenAt: null, now, windowMs })).toMatchObject({ online: false, via: null });
  });

  test("recent socket activity alone does not keep a disconnected worker online", () => {
    const presence = judgePresence({ connected: false, lastHeartbeatAt: null, lastSeenAt: now - 1, now, windowMs });
    expect(presence).toEqual({ online: false, lastSeenAt: now - 1, via: null });
  });

  test("last seen is the later of socket activity and heartbeat, or null when never seen", () => {
    expect(judgePresence({ connected: false, lastHeartbeatAt: 10, lastSeenAt: 20, now, windowMs }).lastSeenAt).toBe(20);
    expect(judgePresence({ connected: false, lastHeartbeatAt: 30, lastSeenAt: 20, now, windowMs }).lastSeenAt).toBe(30);
    expect(judgePresence({ connected: false, lastHeartbeatAt: null, lastSeenAt: null, now, windowMs }).lastSeenAt).toBeNull();
  });
});
