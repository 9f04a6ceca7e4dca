import { describe, expect, test } from "bun:test";
import { deriveWalletToken, devToken, handshakeProof, resolveWorkerToken, type TokenPolicy, tokenWallet, verifyHandshakeProof } from "../../lib/core/token.ts";

const WALLET = "0x52908400098527886E0F7030069857D2E4169EE7";
const KEY = "test-auth-key-not-secret";
// Fixed vector, computed independently with node:crypto createHmac("sha256", KEY).
const VECTOR = "0x52908400098527886e0f7030069857d2e4169ee7.cc3033623bc38bae72fee8a2a34e067261b6c5a15577a8b58d4715f14f5e927f";

describe("deriveWalletToken", () => {
  test("matches the fixed HMAC-SHA256 vector, wallet lowercased", async () => {
    expect(await deriveWalletToken(KEY, WALLET)).toBe(VECTOR);
  });
  test("binds the token to the wallet", async () => {
    const other = await deriveWalletToken(KEY, "0x0000000000000000000000000000000000000001");
    expect(other).not.toBe(VECTOR);
    expect(other.startsWith("0x0000000000000000000000000000000000000001.")).toBe(true);
  });
});

describe("resolveWorkerToken", () => {
  test("prefers BASIS_WORKER_TOKEN, then the auth key, then the dev token", async () => {
    expect(await resolveWorkerToken({ wallet: WALLET, token: "minted", authKey: KEY })).toEqual({ token: "minted", source: "token" });
    expect(await resolveWorkerToken({ wallet: WALLET, authKey: KEY })).toEqual({ token: VECTOR, source: "auth_key" });
    expect(await resolveWorkerToken({ wallet: WALLET })).toEqual({
      token: "basis-worker:0x52908400098527886e0f7030069857d2e4169ee7",
      source: "dev",
    });
  });
});

describe("handshakeProof", () => {
  test("is HMAC-SHA256(token, the challenge, worker id and lowercase wallet), matching node:crypto", async () => {
    const { createHmac } = await import("node:crypto");
    const expected = createHmac("sha256", VECTOR).update(`basis-handshake-v1\nsid-123\ngpu-1\n${WALLET.toLowerCase()}`).digest("hex");
    expect(await handshakeProof(VECTOR, "sid-123", "gpu-1", WALLET)).toBe(expected);
  });
});

describe("verifyHandshakeProof", () => {
  const OTHER = "0x" + "2".repeat(40);
  const proof = (token: string, challenge = "sid-1", workerId = "gpu-1", wallet = WALLET) => handshakeProof(token, challenge, workerId, wallet);
  const cases: [string, TokenPolicy, () => Promise<string>, string, unknown][] = [
    ["dev mode accepts a proof made with the dev token", {}, () => proof(devToken(WALLET)), WALLET, { ok: true, mode: "dev" }],
    ["dev mode refuses a proof made with another wallet's dev token", {}, () => proof(devToken(OTHER)), WALLET, { ok: false, reason: "token_invalid" }],
    ["auth key accepts a proof made with the wallet-bound token", { authKey: KEY }, () => proof(VECTOR), WALLET, { ok: true, mode: "auth_key" }],
    ["auth key refuses a proof made with the dev token", { authKey: KEY }, () => proof(devToken(WALLET)), WALLET, { ok: false, reason: "token_invalid" }],
    ["auth key refuses a token made with another key", { authKey: "other" }, () => proof(VECTOR), WALLET, { ok: false, reason: "token_invalid" }],
    ["auth key refuses a valid token's proof presented with another wallet", { authKey: KEY }, () => proof(VECTOR, "sid-1", "gpu-1", OTHER), OTHER, { ok: false, reason: "token_invalid" }],
    ["allowlist accepts a listed token's proof", { allowlist: ["abc", "minted"] }, () => proof("minted"), WALLET, { ok: true, mode: "allowlist" }],
    ["allowlist refuses an unlisted token's proof", { allowlist: ["abc"] }, () => proof("minted"), WALLET, { ok: false, reason: "token_invalid" }],
    ["a proof made for another connection (challenge) is refused", { authKey: KEY }, () => proof(VECTOR, "sid-other"), WALLET, { ok: false, reason: "token_invalid" }],
    ["a proof made for another worker id is refused", { authKey: KEY }, () => proof(VECTOR, "sid-1", "gpu-2"), WALLET, { ok: false, reason: "token_invalid" }],
    ["the token sent as the proof is refused", { allowlist: ["minted"] }, async () => "minted", WALLET, { ok: false, reason: "token_invalid" }],
    ["an empty proof is missing", { authKey: KEY }, async () => "", WALLET, { ok: false, reason: "token_missing" }],
  ];
  for (const [name, policy, make, wallet, expected] of cases) {
    test(name, async () => {
      expect(await verifyHandshakeProof(policy, await make(), "sid-1", "gpu-1", wallet)).toEqual(expected as never);
    });
  }
  test("no challenge, no acceptance", async () => expect(await verifyHandshakeProof({}, await proof(devToken(WALLET), ""), "", "gpu-1", WALLET)).toEqual({ ok: false, reason: "token_invalid" }));
});

describe("tokenWallet", () => {
  test("names the wallet a wallet-bound token is for", () => expect(tokenWallet(VECTOR)).toBe(WALLET.toLowerCase()));
  test("is undefined for any other token", () => {
    expect(tokenWallet("minted")).toBeUndefined();
    expect(tokenWallet(devToken(WALLET))).toBeUndefined();
  });
});
