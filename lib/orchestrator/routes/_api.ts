/**
 * What the Basis API routes share: their dependencies, and one body reader that refuses
 * secret-shaped values before anything else and never quotes a value back in an error.
 */
import * as v from "valibot";
import { formatKeyPath, issuePath } from "../../core/schema-issues.ts";
import { SECRET_WARNING, secretKind } from "../../core/secrets.ts";
import { HttpError, readJsonValue } from "../http.ts";
import type { Fleet } from "../fleet.ts";
import type { SessionRegistry } from "../sessions.ts";
import type { Store } from "../store.ts";

export interface ApiDeps {
  store: Store;
  registry: SessionRegistry;
  /** Live workers on this instance and, when clustered, on the others. */
  fleet: Fleet;
  now: () => number;
  heartbeatWindowMs: number;
  devMode: boolean;
  /** Where this orchestrator listens, when that is an address a worker could use. */
  url?: () => string | undefined;
}

/** Wallet problems get their own code so clients can say "malformed wallet" in plain words. */
const WALLET_FIELD = "worker_wallet";

interface ScanFrame {
  value: unknown;
  parent: ScanFrame | undefined;
  key: string | number | undefined;
}

function pathOf(frame: ScanFrame | undefined): string {
  const keys: (string | number)[] = [];
  for (let at = frame; at?.key !== undefined; at = at.parent) keys.push(at.key);
  return formatKeyPath(keys.reverse()) || "body";
}

/**
 * The first string (key or value) shaped like a private key or seed phrase, by its path. An
 * explicit stack, not recursion, and no path copied per level: each value is visited once and
 * the path is built only for the value found, so the cost is linear in the body's size.
 */
export function findSecret(root: unknown): string | undefined {
  const stack: ScanFrame[] = [{ value: root, parent: undefined, key: undefined }];
  for (let frame = stack.pop(); frame; frame = stack.pop()) {
    // A key is judged before its value, as the object is read.
    if (typeof frame.key === "string" && secretKind(frame.key)) return pathOf(frame.parent);
    const { value } = frame;
    if (typeof value === "string") {
      if (secretKind(value)) return pathOf(frame);
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], parent: frame, key: i });
    } else if (value && typeof value === "object") {
      const keys = Object.keys(value);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i] as string;
        stack.push({ value: (value as Record<string, unknown>)[key], parent: frame, key });
      }
    }
  }
  return undefined;
}

function issueToError(issue: v.BaseIssue<unknown>): HttpError {
  const field = issuePath(issue);
  if (!field) return new HttpError(400, "invalid_request", "The body must be a JSON object.");
  let message = issue.message;
  if (issue.type === "strict_object") {
    message = issue.expected === "never" ? `${field} is not a known field.` : `${field} is required.`;
  }
  const code = issue.path?.[0]?.key === WALLET_FIELD ? "invalid_wallet" : "invalid_request";
  return new HttpError(400, code, message, { field });
}

/** Reads a JSON body and validates it; the schema's messages must not quote the input. */
export async function readApiBody<const S extends v.GenericSchema>(request: Request, schema: S): Promise<v.InferOutput<S>> {
  const value = await readJsonValue(request);
  const secretAt = findSecret(value);
  if (secretAt) throw new HttpError(400, "secret_refused", `Refused ${secretAt}: ${SECRET_WARNING}`, { field: secretAt });
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new HttpError(400, "invalid_request", "The body must be a JSON object.");
  }
  const result = v.safeParse(schema, value);
  if (!result.success) throw issueToError(result.issues[0]);
  return result.output;
}

export function toIso(at: number | null): string | null {
  return at === null ? null : new Date(at).toISOString();
}
