import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { concat, hashMessage, keccak256, recoverAddress, toBytes, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { canonicalOfferMessage } from "../../lib/core/canonical-json.ts";
import { BasisError } from "../../lib/core/errors.ts";
import { buildManifest, parseManifest, parsePricesFile, type Manifest } from "../../lib/core/manifest.ts";
import {
  CLOCK_SKEW_SECONDS,
  checkExpiry,
  signManifest,
  verifyManifest,
  verifyManifestSigner,
} from "../../lib/core/manifest-signature.ts";
import vectors from "../fixtures/manifest-vectors.json";

// Throwaway keys derived from labels: public, no funds, test only.
const KEY = keccak256(toBytes("basis-worker manifest-signature test key A"));
const OTHER_KEY = keccak256(toBytes("basis-worker manifest-signature test key B"));
const WALLET = privateKeyToAccount(KEY).address;
const PRICES = parsePricesFile(readFileSync(new URL("../../templates/prices.example.json", import.meta.url), "utf8"));
const NOW = new Date("2025-03-01T10:00:00.000Z");

function unsignedFor(wallet: string = WALLET) {
  return buildManifest({ prices: PRICES, workerId: "gpu-1", workerWallet: wallet, now: NOW, nonce: "0123456789abcdef0123456789abcdef" });
}

const VECTOR_MANIFEST = parseManifest(vectors.manifest);

describe("manifest test vectors", () => {
  test("the key is the keccak of its published label and controls the published address", () => {
    expect(keccak256(toBytes("basis-worker public test key: manifest vectors v1"))).toBe(vectors.private_key as Hex);
    expect(privateKeyToAccount(vectors.private_key as Hex).address).toBe(vectors.address as Hex);
    expect(vectors.warning).toMatch(/PUBLIC TEST KEY/);
  });

  test("the canonical message is the manifest without its signature", () => {
    expect(canonicalOfferMessage(VECTOR_MANIFEST)).toBe(vectors.canonical_message);
    expect(VECTOR_MANIFEST.signature).toBe(vectors.signature);
  });

  test("the signature is EIP-191 personal_sign over the UTF-8 bytes of the message", () => {
    const bytes = toBytes(vectors.canonical_message);
    const prefixed = concat([toBytes(`\x19Ethereum Signed Message:\n${bytes.length}`), bytes]);
    expect(keccak256(prefixed)).toBe(hashMessage(vectors.canonical_message));
    return expect(recoverAddress({ hash: keccak256(prefixed), signature: vectors.signature as Hex })).resolves.toBe(vectors.address as Hex);
  });

  test("the committed manifest verifies against the committed address", async () => {
    expect(await verifyManifest(VECTOR_MANIFEST)).toEqual({ ok: true, recovered: vectors.address as Hex });
  });

  test("signing the vector manifest with the vector key reproduces the signature", async () => {
    const { signature: _s, ...unsigned } = VECTOR_MANIFEST;
    const signed = await signManifest(unsigned, vectors.private_key as Hex);
    expect(signed.manifest.signature).toBe(vectors.signature as Hex);
    expect(signed.message).toBe(vectors.canonical_message);
  });
});

describe("signManifest", () => {
  test("round trip: a signed manifest verifies and recovers the worker wallet", async () => {
    const { manifest, message, signer } = await signManifest(unsignedFor(), KEY);
    expect(signer).toBe(WALLET);
    expect(message).toBe(canonicalOfferMessage(manifest));
    expect(parseManifest(manifest)).toEqual(manifest);
    expect(await verifyManifest(manifest)).toEqual({ ok: true, recovered: WALLET });
  });

  test("accepts a worker wallet written in lower case", async () => {
    const { manifest } = await signManifest(unsignedFor(WALLET.toLowerCase()), KEY);
    expect((await verifyManifest(manifest)).ok).toBe(true);
  });

  test("refuses a key that does not belong to the worker wallet, without the key in the error", async () => {
    const error = await signManifest(unsignedFor(), OTHER_KEY).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BasisError);
    expect((error as BasisError).code).toBe("signer_mismatch");
    expect((error as BasisError).message).toContain("does not belong to the worker wallet");
    const everything = JSON.stringify({ ...(error as BasisError).toJSON(), hint: (error as BasisError).hint, stack: (error as Error).stack });
    expect(everything).not.toContain(OTHER_KEY.slice(2));
  });

  const badKeys: [string, string, string][] = [
    ["a key without 0x", KEY.slice(2), "key_malformed"],
    ["a short key", KEY.slice(0, 40), "key_malformed"],
    ["the zero key", `0x${"0".repeat(64)}`, "key_invalid"],
    ["a key above the curve order", `0x${"f".repeat(64)}`, "key_invalid"],
  ];
  for (const [name, key, code] of badKeys) {
    test(`refuses ${name} without echoing it`, async () => {
      const error = (await signManifest(unsignedFor(), key as Hex).catch((caught: unknown) => caught)) as BasisError;
      expect(error.code).toBe(code);
      expect(error.message).not.toContain(key.replace(/^0x/, ""));
      expect(error.cause).toBeUndefined();
    });
  }
});

describe("verifyManifest", () => {
  async function signed(): Promise<Manifest> {
    return (await signManifest(unsignedFor(), KEY)).manifest;
  }

  const tampers: [string, (manifest: Manifest) => Manifest][] = [
    ["a raised price", (m) => ({ ...m, models: [{ ...m.models[0]!, output_credits_per_1m: "1840000001" }] })],
    ["a changed worker id", (m) => ({ ...m, worker_id: "gpu-2" })],
    ["a later valid_until", (m) => ({ ...m, valid_until: "2025-03-09T10:00:00.000Z" })],
    ["a changed nonce", (m) => ({ ...m, nonce: "f".repeat(32) })],
    ["edited hardware", (m) => ({ ...m, hardware: { ...m.hardware, vram_gib: 80 } })],
  ];
  for (const [name, tamper] of tampers) {
    test(`refuses a manifest with ${name}`, async () => {
      const result = await verifyManifest(tamper(await signed()));
      expect(result.ok).toBe(false);
      expect(result.reason).toBe("signer_mismatch");
      expect(result.recovered).not.toBe(WALLET);
    });
  }

  test("refuses a manifest signed by someone else for this wallet", async () => {
    const stranger = privateKeyToAccount(OTHER_KEY);
    const unsigned = unsignedFor();
    const signature = await stranger.signMessage({ message: canonicalOfferMessage(unsigned) });
    expect(await verifyManifest({ ...unsigned, signature })).toEqual({ ok: false, recovered: stranger.address, reason: "signer_mismatch" });
  });

  test("reports a signature that does not recover at all", async () => {
    const manifest = { ...(await signed()), signature: `0x${"00".repeat(65)}` };
    expect(await verifyManifest(manifest)).toEqual({ ok: false, reason: "bad_signature" });
  });
});

describe("verifyManifestSigner", () => {
  test("accepts the registered wallet in any case", async () => {
    const { manifest } = await signManifest(unsignedFor(), KEY);
    expect((await verifyManifestSigner(manifest, WALLET.toLowerCase())).ok).toBe(true);
  });

  test("refuses a validly signed manifest for a different registered wallet", async () => {
    const { manifest } = await signManifest(unsignedFor(), KEY);
    const registered = privateKeyToAccount(OTHER_KEY).address;
    expect(await verifyManifestSigner(manifest, registered)).toEqual({ ok: false, recovered: WALLET, reason: "wallet_mismatch" });
  });
});

describe("checkExpiry", () => {
  const window = { issued_at: "2025-03-01T10:00:00.000Z", valid_until: "2025-03-08T10:00:00.000Z" };

  test("accepts a manifest inside its window", () => {
    expect(checkExpiry(window, new Date("2025-03-02T10:00:00.000Z"))).toEqual({ ok: true, secondsLeft: 6 * 86_400 });
  });

  test("refuses an expired manifest, valid_until itself included", () => {
    expect(checkExpiry(window, new Date("2025-03-08T10:00:00.000Z"))).toMatchObject({ ok: false, reason: "expired" });
    expect(checkExpiry(window, new Date("2025-04-01T00:00:00.000Z"))).toMatchObject({ ok: false, reason: "expired" });
  });

  test("accepts an issued_at slightly ahead of our clock but not far ahead", () => {
    const issued = Date.parse(window.issued_at);
    expect(checkExpiry(window, new Date(issued - CLOCK_SKEW_SECONDS * 1000)).ok).toBe(true);
    expect(checkExpiry(window, new Date(issued - CLOCK_SKEW_SECONDS * 1000 - 1))).toMatchObject({ ok: false, reason: "not_yet_valid" });
  });
});

describe("docs/PRICES.md", () => {
  test("shows the committed test vectors", () => {
    const doc = readFileSync(new URL("../../docs/PRICES.md", import.meta.url), "utf8");
    expect(doc).toContain(vectors.canonical_message);
    expect(doc).toContain(vectors.signature);
    expect(doc).toContain(vectors.address);
  });
});
