/**
 * Worker handshake tokens. Precedence on the worker (see docs/PROTOCOL.md):
 *   1. BASIS_WORKER_TOKEN as given;
 *   2. else a wallet-bound token derived from BASIS_WORKER_AUTH_KEY:
 *      `<lowercase wallet>.<hex HMAC-SHA256(key, "basis-worker:" + lowercase wallet)>`;
 *   3. else the dev token `basis-worker:<lowercase wallet>`, which only an orchestrator with no
 *      worker auth configured accepts.
 * Web Crypto only, so this runs unchanged on Bun, Deno and Node.
 */

export type TokenSource = "token" | "auth_key" | "dev";

const encoder = new TextEncoder();

export function devToken(wallet: string): string {
  return `basis-worker:${wallet.toLowerCase()}`;
}

async function hmacHex(key: string, message: string): Promise<string> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    encoder.encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message)));
  let hex = "";
  for (const byte of mac) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

export async function deriveWalletToken(authKey: string, wallet: string): Promise<string> {
  const lower = wallet.toLowerCase();
  return `${lower}.${await hmacHex(authKey, `basis-worker:${lower}`)}`;
}

export interface TokenInputs {
  wallet: string;
  token?: string | undefined;
  authKey?: string | undefined;
}

export async function resolveWorkerToken(inputs: TokenInputs): Promise<{ token: string; source: TokenSource }> {
  if (inputs.token) return { token: inputs.token, source: "token" };
  if (inputs.authKey) return { token: await deriveWalletToken(inputs.authKey, inputs.wallet), source: "auth_key" };
  return { token: devToken(inputs.wallet), source: "dev" };
}

/** Compares in time independent of where the strings differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

export interface TokenPolicy {
  /** Shared HMAC key: accepts wallet-bound tokens. */
  authKey?: string | undefined;
  /** Pre-minted tokens, each accepted for any wallet. */
  allowlist?: readonly string[] | undefined;
}

export type TokenVerdict =
  | { ok: true; mode: "allowlist" | "auth_key" | "dev" }
  | { ok: false; reason: "token_missing" | "token_invalid" | "token_bound_to_other_wallet" };

export function isDevMode(policy: TokenPolicy): boolean {
  return !policy.authKey && !(policy.allowlist && policy.allowlist.length > 0);
}

/** The orchestrator's check of a handshake token against the wallet the worker advertises. */
export async function verifyWorkerToken(policy: TokenPolicy, token: string, wallet: string): Promise<TokenVerdict> {
  if (!token) return { ok: false, reason: "token_missing" };
  const lower = wallet.toLowerCase();
  if (isDevMode(policy)) {
    return constantTimeEqual(token, devToken(lower)) ? { ok: true, mode: "dev" } : { ok: false, reason: "token_invalid" };
  }
  for (const allowed of policy.allowlist ?? []) {
    if (constantTimeEqual(token, allowed)) return { ok: true, mode: "allowlist" };
  }
  if (policy.authKey) {
    const dot = token.indexOf(".");
    const boundTo = dot > 0 ? token.slice(0, dot) : "";
    if (/^0x[0-9a-f]{40}$/.test(boundTo)) {
      const expected = await deriveWalletToken(policy.authKey, boundTo);
      if (constantTimeEqual(token, expected)) {
        return boundTo === lower ? { ok: true, mode: "auth_key" } : { ok: false, reason: "token_bound_to_other_wallet" };
      }
    }
  }
  return { ok: false, reason: "token_invalid" };
}
