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

/** Hosts of the public network, whose API lives at https://basis.watch, not on the orchestrator. */
const PUBLIC_NETWORK = /(^|\.)basis\.watch$/i;

/**
 * The Basis API base that goes with an orchestrator URL. A self-hosted orchestrator
 * (`basis-canary serve`) serves the API on its own origin and prefix, so ws://host:8787 pairs
 * with http://host:8787; the public network's orchestrators pair with the default base
 * (undefined).
 */
export function apiBaseFor(orchestratorUrl: string): string | undefined {
  const url = new URL(orchestratorUrl);
  if (PUBLIC_NETWORK.test(url.hostname)) return undefined;
  const scheme = url.protocol === "wss:" || url.protocol === "https:" ? "https:" : "http:";
  return `${scheme}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
}
