/**
 * Where a worker's Socket.io client connects. A path in BASIS_ORCHESTRATOR_URL is a reverse
 * proxy's prefix (wss://host/basis), not a Socket.io namespace: it becomes the engine path
 * `<prefix>/socket.io/` on the URL's origin.
 */
export interface SocketTarget {
  uri: string;
  path: string;
}

/** The targets of a BASIS_ORCHESTRATOR_URL that may list several instances, comma-separated. */
export function socketTargets(orchestratorUrls: string): SocketTarget[] {
  return orchestratorUrls
    .split(",")
    .map((url) => url.trim())
    .filter(Boolean)
    .map(socketTarget);
}

export function socketTarget(orchestratorUrl: string): SocketTarget {
  const url = new URL(orchestratorUrl);
  const prefix = url.pathname.replace(/\/+$/, "");
  return { uri: `${url.protocol}//${url.host}`, path: `${prefix}/socket.io/` };
}
