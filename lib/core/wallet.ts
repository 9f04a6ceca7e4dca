/**
 * Public reward wallets: `0x` + 40 hex, EIP-55 checksum enforced when mixed case.
 * A value shaped like a key or a seed phrase is refused with a warning and never echoed.
 */
import { WALLET_PATTERN } from "./address.ts";
import { keccak_256 } from "@noble/hashes/sha3";
import { BasisError } from "./errors.ts";
import { SECRET_WARNING, secretKind } from "./secrets.ts";


/** Returns the wallet as given (validated) or throws a BasisError with exit code 2. */
export function parseWallet(input: string | undefined, source = "wallet"): `0x${string}` {
  const value = (input ?? "").trim();
  if (value === "") {
    throw new BasisError("wallet_missing", `No ${source} given.`, {
      exitCode: 2,
      hint: "Pass your PUBLIC reward address (0x + 40 hex), e.g. the one shown at https://basis.watch after connecting a wallet.",
    });
  }
  if (secretKind(value)) {
    throw new BasisError("secret_refused", `Refused the ${source}: ${SECRET_WARNING}`, {
      exitCode: 2,
      hint: "Use the public address of that wallet instead, and keep the key where it is.",
    });
  }
  if (!WALLET_PATTERN.test(value)) {
    throw new BasisError("wallet_malformed", `The ${source} is not a 0x-prefixed 40-hex EVM address.`, {
      exitCode: 2,
      hint: "Copy the public address again; it is 42 characters and starts with 0x.",
    });
  }
  const body = value.slice(2);
  const unusable = unusableReason(body.toLowerCase());
  if (unusable) {
    throw new BasisError("wallet_unusable", `The ${source} is ${unusable}: rewards sent there could never be spent.`, {
      exitCode: 2,
      hint: "Give the public address of a wallet you control (copy it from your wallet app).",
    });
  }
  const mixedCase = body !== body.toLowerCase() && body !== body.toUpperCase();
  if (mixedCase && toChecksumAddress(value) !== value) {
    throw new BasisError("wallet_checksum", `The ${source} fails its EIP-55 checksum (a typo?).`, {
      exitCode: 2,
      hint: "Copy the address again from your wallet, or give it in all lowercase.",
    });
  }
  return value as `0x${string}`;
}

/**
 * Addresses that are valid hex but no one's wallet: the zero address, the well-known burn
 * addresses, and the precompiles (0x…01 to 0x…ff, contracts with no owner).
 */
function unusableReason(body: string): string | undefined {
  if (/^0{40}$/.test(body)) return "the zero address";
  if (/^f{40}$/.test(body) || body === "000000000000000000000000000000000000dead" || body === "dead000000000000000042069420694206942069") return "a burn address";
  if (/^0{38}[0-9a-f]{2}$/.test(body)) return "a precompile address";
  return undefined;
}

/**
 * EIP-55: each hex letter is upper case where the matching nibble of keccak256(lowercase hex)
 * is 8 or more. Done with @noble/hashes alone so the worker's start path never loads viem.
 */
export function toChecksumAddress(address: string): `0x${string}` {
  const lower = address.slice(2).toLowerCase();
  const hash = keccak_256(new TextEncoder().encode(lower));
  let out = "0x";
  for (let i = 0; i < lower.length; i++) {
    const byte = hash[i >> 1] as number;
    const nibble = i % 2 === 0 ? byte >> 4 : byte & 0x0f;
    out += nibble >= 8 ? (lower[i] as string).toUpperCase() : lower[i];
  }
  return out as `0x${string}`;
}
