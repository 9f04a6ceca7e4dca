/**
 * Recognise values that must never be accepted, stored or echoed: private keys and seed
 * phrases. Callers refuse such a value and describe it by kind only, never by content.
 */

const HEX64 = /^(0x)?[0-9a-fA-F]{64}$/;
const WORD = /^[a-z]{3,8}$/;

/** A 64-hex or 0x+64-hex string: the shape of a secp256k1 private key. */
export function looksLikePrivateKey(value: string): boolean {
  return HEX64.test(value.trim());
}

/**
 * 12, 15, 18, 21 or 24 lowercase words: the shape of a BIP-39 mnemonic. Without the word list
 * we judge by shape, which is enough to refuse it (no wallet address or flag looks like that).
 */
export function looksLikeMnemonic(value: string): boolean {
  const words = value.trim().split(/\s+/);
  if (![12, 15, 18, 21, 24].includes(words.length)) return false;
  return words.every((word) => WORD.test(word.toLowerCase()));
}

export type SecretKind = "private_key" | "mnemonic";

export function secretKind(value: string): SecretKind | undefined {
  if (looksLikePrivateKey(value)) return "private_key";
  if (looksLikeMnemonic(value)) return "mnemonic";
  return undefined;
}

export const SECRET_WARNING =
  "That looks like a private key or seed phrase. Never share it: the worker needs only your PUBLIC wallet address (0x + 40 hex). Nothing was stored.";

/** Names of environment variables whose values are secrets and are never printed. */
export const SECRET_ENV_NAMES = [
  "BASIS_WORKER_TOKEN",
  "BASIS_WORKER_AUTH_KEY",
  "BASIS_ORCHESTRATOR_SECRET",
  "INTERNAL_API_SECRET",
  "BASIS_WORKER_PRIVATE_KEY",
  "BASIS_WORKER_TOKENS",
  "BASIS_VLLM_API_KEY",
  "BASIS_LLAMACPP_API_KEY",
  "BASIS_OPENAI_API_KEY",
] as const;

/** Replace every occurrence of the given secret values in text (for logs of child output). */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join("[redacted]");
  }
  return out;
}
