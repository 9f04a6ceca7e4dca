/**
 * Worker handshake tokens, and the per-connection proof that stands in for them on the wire (the
 * token itself is never sent). Precedence on the worker (see docs/PROTOCOL.md):
 *   1. BASIS_WORKER_TOKEN as given;
 *   2. else a wallet-bound token derived from BASIS_WORKER_AUTH_KEY:
 *      `<lowercase wallet>.<hex HMAC-SHA256(key, "basis-worker:" + lowercase wallet)>`;
 *   3. else the dev token `basis-worker:<lowercase wallet>`, which only an orchestrator with no
 *      worker auth configured accepts.
 * Web Crypto only, so this runs unchanged on Bun, Deno and Node.
 */
import { WALLET_PATTERN_BODY } from "./address.ts";

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
  | { ok: false; reason: "token_missing" | "token_invalid" };

export function isDevMode(policy: TokenPolicy): boolean {
  return !policy.authKey && !(policy.allowlist && policy.allowlist.length > 0);
}

/**
 * What a handshake proof signs (docs/PROTOCOL.md, "Handshake proof"): the server's challenge for
 * this one connection (its engine session id), the worker id and the lowercase wallet.
 */
export function handshakeMessage(challenge: string, workerId: string, wallet: string): string {
  return `basis-handshake-v1\n${challenge}\n${workerId}\n${wallet.toLowerCase()}`;
}

/** Proves possession of `token` for one connection without sending it: hex HMAC-SHA256(token, message). */
export function handshakeProof(token: string, challenge: string, workerId: string, wallet: string): Promise<string> {
  return hmacHex(token, handshakeMessage(challenge, workerId, wallet));
}

/**
 * The orchestrator's check of a handshake proof. The tokens it would accept for this wallet are
 * the dev token (dev mode only), each allowlisted token, and the wallet-bound token its auth key
 * derives; the proof must be the MAC of this connection's challenge under one of them. A proof
 * captured on the wire is worth nothing on another connection: its challenge differs.
 */
export async function verifyHandshakeProof(policy: TokenPolicy, proof: string, challenge: string, workerId: string, wallet: string): Promise<TokenVerdict> {
  if (!proof) return { ok: false, reason: "token_missing" };
  if (!challenge) return { ok: false, reason: "token_invalid" };
  const lower = wallet.toLowerCase();
  const matches = async (token: string) => constantTimeEqual(proof, await handshakeProof(token, challenge, workerId, lower));
  if (isDevMode(policy)) return (await matches(devToken(lower))) ? { ok: true, mode: "dev" } : { ok: false, reason: "token_invalid" };
  for (const allowed of policy.allowlist ?? []) {
    if (await matches(allowed)) return { ok: true, mode: "allowlist" };
  }
  if (policy.authKey && (await matches(await deriveWalletToken(policy.authKey, lower)))) return { ok: true, mode: "auth_key" };
  return { ok: false, reason: "token_invalid" };
}

const WALLET_BOUND_TOKEN = new RegExp(`^(${WALLET_PATTERN_BODY})\\.[0-9a-f]{64}$`);

/** The wallet a wallet-bound token names (`<wallet>.<hex>`), or undefined for any other token. */
export function tokenWallet(token: string): string | undefined {
  const match = WALLET_BOUND_TOKEN.exec(token);
  return match?.[1]?.toLowerCase();
}

/**
 * Socket.io's `auth` as a function, which the client calls on every connection attempt once the
 * engine is open: each attempt gets a proof over its own engine session id, so reconnections
 * and failovers need nothing more.
 */
export function handshakeAuth<const T extends { worker_id: string; worker_wallet: string }>(
  base: T,
  token: string,
  engineId: () => string | undefined,
): (callback: (auth: T & { proof: string }) => void) => void {
  return (callback) => {
    void handshakeProof(token, engineId() ?? "", base.worker_id, base.worker_wallet).then((proof) => callback({ ...base, proof }));
  };
}

/** Every wallet-bound token derives from the auth key: a short one can be guessed offline. */
export const MIN_AUTH_KEY_BYTES = 32;

export function weakKeyWarning(authKey: string | undefined): string | undefined {
  if (!authKey) return undefined;
  const bytes = new TextEncoder().encode(authKey).length;
  if (bytes >= MIN_AUTH_KEY_BYTES) return undefined;
  return `BASIS_WORKER_AUTH_KEY is only ${bytes} byte(s): use at least ${MIN_AUTH_KEY_BYTES} random bytes (openssl rand -hex 32). Every worker token derives from it, so a short key can be guessed.`;
}
