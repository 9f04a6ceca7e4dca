import { describe, expect, test } from "bun:test";
import { BasisError } from "../../lib/core/errors.ts";
import { parseWallet } from "../../lib/core/wallet.ts";

const KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
const PHRASE12 = "legal winner thank year wave sausage worth useful legal winner thank yellow";
const PHRASE24 = `${PHRASE12} ${PHRASE12}`;

function codeOf(input: string | undefined): string {
  try {
    parseWallet(input);
    return "ok";
  } catch (error) {
    expect(error).toBeInstanceOf(BasisError);
    const e = error as BasisError;
    expect(e.exitCode).toBe(2);
    // The refused value never appears in what we print.
    if (input && input.trim().length > 0) expect(`${e.message} ${e.hint}`).not.toContain(input.trim());
    return e.code;
  }
}

describe("parseWallet", () => {
  const cases: [string, string | undefined, string][] = [
    ["accepts lowercase", "0x52908400098527886e0f7030069857d2e4169ee7", "ok"],
    ["accepts uppercase hex", "0x52908400098527886E0F7030069857D2E4169EE7", "ok"],
    ["accepts a valid EIP-55 checksum", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "ok"],
    ["rejects a broken EIP-55 checksum", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "wallet_checksum"],
    ["refuses the zero address", "0x0000000000000000000000000000000000000000", "wallet_unusable"],
    ["refuses the 0x…dEaD burn address", "0x000000000000000000000000000000000000dEaD", "wallet_unusable"],
    ["refuses an all-f address", "0xffffffffffffffffffffffffffffffffffffffff", "wallet_unusable"],
    ["refuses a precompile", "0x0000000000000000000000000000000000000009", "wallet_unusable"],
    ["accepts an address that merely starts with zeros", "0x0000000000000000000000000000000000000100", "ok"],
    ["refuses a 64-hex private key", KEY, "secret_refused"],
    ["refuses a 0x+64-hex private key", `0x${KEY}`, "secret_refused"],
    ["refuses a 12-word phrase", PHRASE12, "secret_refused"],
    ["refuses a 24-word phrase", PHRASE24, "secret_refused"],
    ["rejects a short address", "0x1234", "wallet_malformed"],
    ["rejects no 0x prefix", "52908400098527886e0f7030069857d2e4169ee7", "wallet_malformed"],
    ["rejects non-hex", "0xZZ908400098527886e0f7030069857d2e4169ee7", "wallet_malformed"],
    ["rejects inner spaces", "0x5290840009852 7886e0f7030069857d2e4169ee7", "wallet_malformed"],
    ["rejects empty", "", "wallet_missing"],
    ["rejects missing", undefined, "wallet_missing"],
  ];
  for (const [name, input, expected] of cases) test(name, () => expect(codeOf(input)).toBe(expected));
});

describe("toChecksumAddress", () => {
  test("matches viem's EIP-55 on the specification's vectors and random addresses", async () => {
    const { getAddress } = await import("viem");
    const { toChecksumAddress } = await import("../../lib/core/wallet.ts");
    const vectors = [
      "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
      "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
      "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
      "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ];
    for (const address of vectors) expect(toChecksumAddress(address.toLowerCase())).toBe(address as `0x${string}`);
    for (let i = 0; i < 50; i++) {
      const random = `0x${Array.from(crypto.getRandomValues(new Uint8Array(20)), (b) => b.toString(16).padStart(2, "0")).join("")}`;
      expect(toChecksumAddress(random)).toBe(getAddress(random));
    }
  });
});
