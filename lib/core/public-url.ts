/**
 * URLs as they may appear in logs, errors and reports: never with credentials or a query,
 * either of which may carry a secret.
 */

/** `scheme://host/path` only: drops `user:password@`, the query and the fragment. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

/**
 * A backend URL as it may appear in a report: without `user:password@`, which some operators
 * put in BASIS_OLLAMA_URL for a reverse proxy and which must never reach output.
 */
export function stripUrlCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === "" && parsed.password === "") return url;
    parsed.username = "";
    parsed.password = "";
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, "//");
  }
}

/** `base` + `path` keeping any path prefix in base (a proxy may serve Ollama under /ollama). */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, "") + path;
}
