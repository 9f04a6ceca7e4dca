/**
 * Sign and verify a price/model manifest: EIP-191 `personal_sign` over the canonical JSON of
 * the manifest without its `signature` (docs/PRICES.md). Pure: the key is passed in, used for
 * one signature, and never stored, logged or put in an error (errors from the signing library
 * are not chained as `cause`, since they may quote the key).
 */
import { recoverMessageAddress, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { canonicalOfferMessage } from "./canonical-json.ts";
import { BasisError } from "./errors.ts";
import type { Manifest, UnsignedManifest } from "./manifest.ts";

const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/;

export interface SignManifestResult {
  manifest: Manifest;
  /** The exact text that was signed. */
  message: string;
  /** The address that signed (EIP-55 checksummed); equals the manifest's worker_wallet. */
  signer: Hex;
}

export async function signManifest(unsigned: UnsignedManifest, privateKey: Hex): Promise<SignManifestResult> {
  if (!PRIVATE_KEY.test(privateKey)) {
    throw new BasisError("key_malformed", "The signing key is not 0x + 64 hex characters.", { exitCode: 2 });
  }
  const message = canonicalOfferMessage(unsigned);
  let signer: Hex;
  let signature: Hex;
  try {
    const account = privateKeyToAccount(privateKey);
    signer = account.address;
    signature = await account.signMessage({ message });
  } catch {
    throw new BasisError("key_invalid", "The signing key is not a valid secp256k1 private key.", { exitCode: 2 });
  }
  // Self-check: what a verifier will recover must be the wallet the manifest names.
  const recovered = await recoverMessageAddress({ message, signature });
  if (recovered.toLowerCase() !== unsigned.worker_wallet.toLowerCase()) {
    throw new BasisError("signer_mismatch", "The key does not belong to the worker wallet; nothing was signed or sent.", {
      exitCode: 2,
      hint: `Use the private key of the reward wallet ${unsigned.worker_wallet}, or register the worker with the wallet this key controls.`,
      details: { worker_wallet: unsigned.worker_wallet, signer },
    });
  }
  const { signature: _ignored, ...rest } = unsigned as UnsignedManifest & { signature?: unknown };
  return { manifest: { ...rest, signature }, message, signer };
}

export type VerifyFailure = "bad_signature" | "signer_mismatch" | "wallet_mismatch";

export interface ManifestVerification {
  ok: boolean;
  /** The address the signature recovers to (checksummed), when it recovers at all. */
  recovered?: Hex;
  reason?: VerifyFailure;
}

async function recoverSigner(manifest: Manifest): Promise<Hex | undefined> {
  try {
    return await recoverMessageAddress({ message: canonicalOfferMessage(manifest), signature: manifest.signature as Hex });
  } catch {
    return undefined;
  }
}

/** Does the signature recover the manifest's own worker_wallet? */
export async function verifyManifest(manifest: Manifest): Promise<ManifestVerification> {
  const recovered = await recoverSigner(manifest);
  if (!recovered) return { ok: false, reason: "bad_signature" };
  if (recovered.toLowerCase() !== manifest.worker_wallet.toLowerCase()) {
    return { ok: false, recovered, reason: "signer_mismatch" };
  }
  return { ok: true, recovered };
}

/**
 * As verifyManifest, and the manifest's wallet must also be `expectedWallet` (the wallet the
 * worker registered with), so nobody can publish prices for someone else's worker.
 */
export async function verifyManifestSigner(manifest: Manifest, expectedWallet: string): Promise<ManifestVerification> {
  const result = await verifyManifest(manifest);
  if (!result.ok) return result;
  if (manifest.worker_wallet.toLowerCase() !== expectedWallet.toLowerCase()) {
    return { ok: false, recovered: result.recovered, reason: "wallet_mismatch" };
  }
  return result;
}

/** How far in the future issued_at may be before a manifest counts as not yet valid. */
export const CLOCK_SKEW_SECONDS = 300;

export interface ExpiryCheck {
  ok: boolean;
  reason?: "expired" | "not_yet_valid";
  /** Seconds until valid_until (negative once expired). */
  secondsLeft: number;
}

/** Is the manifest inside its validity window at `now`? valid_until itself counts as expired. */
export function checkExpiry(manifest: Pick<UnsignedManifest, "issued_at" | "valid_until">, now: Date): ExpiryCheck {
  const nowMs = now.getTime();
  const secondsLeft = Math.floor((Date.parse(manifest.valid_until) - nowMs) / 1000);
  if (!(Date.parse(manifest.valid_until) > nowMs)) return { ok: false, reason: "expired", secondsLeft };
  if (Date.parse(manifest.issued_at) - nowMs > CLOCK_SKEW_SECONDS * 1000) {
    return { ok: false, reason: "not_yet_valid", secondsLeft };
  }
  return { ok: true, secondsLeft };
}

