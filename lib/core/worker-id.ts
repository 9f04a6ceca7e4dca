/**
 * The worker id: a short slug chosen by the operator (or derived from the host name). The one
 * home of its rule; the socket protocol, the price manifest, the API and the CLI all use it.
 */
import { BasisError } from "./errors.ts";
import { SECRET_WARNING, secretKind } from "./secrets.ts";

export const WORKER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** The rule in words, for messages that follow a name ("worker_id must be ..."). */
export const WORKER_ID_RULE = "1-63 characters of letters, digits, '.', '_' or '-', starting with a letter or digit";

/** A stable id from the host name: readable slug plus a short hash so two hosts rarely collide. */
export function defaultWorkerId(hostname: string): string {
  const slug = hostname.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "host";
  let hash = 0x811c9dc5;
  for (let i = 0; i < hostname.length; i++) {
    hash ^= hostname.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `${slug}-${hash.toString(16).padStart(8, "0").slice(0, 6)}`;
}

/** Returns the id as given or throws (exit 2); a key or phrase is refused and never echoed. */
export function parseWorkerId(value: string): string {
  if (secretKind(value)) throw new BasisError("secret_refused", `Refused the worker id: ${SECRET_WARNING}`, { exitCode: 2 });
  if (!WORKER_ID_PATTERN.test(value)) {
    throw new BasisError("worker_id_malformed", `The worker id must be ${WORKER_ID_RULE}.`, { exitCode: 2, hint: "Pick a short slug such as my-gpu-1." });
  }
  return value;
}
