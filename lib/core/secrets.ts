/**
 * Recognise values that must never be accepted, stored or echoed: private keys and seed
 * phrases. Callers refuse such a value and describe it by kind only, never by content.
 */

const HEX64 = /^(0x)?[0-9a-fA-F]{64}$/;
const WORD = /^[a-z]{3,8}$/;
/** BIP-39 phrase lengths; the shortest is 12 words. */
const MNEMONIC_WORD_COUNTS = [12, 15, 18, 21, 24];
export const MNEMONIC_MIN_WORDS = 12;

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
  if (!MNEMONIC_WORD_COUNTS.includes(words.length)) return false;
  return words.every((word) => looksLikeMnemonicWord(word.toLowerCase()));
}

/** One word of a seed phrase by shape: 3-8 lowercase letters (a phrase typed unquoted arrives word by word). */
export function looksLikeMnemonicWord(word: string): boolean {
  return WORD.test(word);
}

export type SecretKind = "private_key" | "mnemonic";

export function secretKind(value: string): SecretKind | undefined {
  if (looksLikePrivateKey(value)) return "private_key";
  if (looksLikeMnemonic(value)) return "mnemonic";
  return undefined;
}

export const SECRET_WARNING =
  "That looks like a private key or seed phrase. Never share it: the worker needs only your PUBLIC wallet address (0x + 40 hex). Nothing was stored.";

/** Replace every occurrence of the given secret values in text (for logs of child output). */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join("[redacted]");
  }
  return out;
}
