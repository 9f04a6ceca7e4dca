import { describe, expect, test } from "bun:test";
import { deriveWalletToken, devToken, resolveWorkerToken, verifyWorkerToken } from "../../lib/core/token.ts";

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

describe("verifyWorkerToken", () => {
  const cases: [string, Parameters<typeof verifyWorkerToken>[0], string, string, unknown][] = [
    ["dev mode accepts the dev token", {}, devToken(WALLET), WALLET, { ok: true, mode: "dev" }],
    ["dev mode refuses a dev token for another wallet", {}, devToken("0x" + "1".repeat(40)), WALLET, { ok: false, reason: "token_invalid" }],
    ["auth key accepts the wallet-bound token", { authKey: KEY }, VECTOR, WALLET, { ok: true, mode: "auth_key" }],
    ["auth key refuses the dev token", { authKey: KEY }, devToken(WALLET), WALLET, { ok: false, reason: "token_invalid" }],
    ["auth key refuses a token made with another key", { authKey: "other" }, VECTOR, WALLET, { ok: false, reason: "token_invalid" }],
    [
      "auth key refuses a valid token presented with another wallet",
      { authKey: KEY },
      VECTOR,
      "0x" + "2".repeat(40),
      { ok: false, reason: "token_bound_to_other_wallet" },
    ],
    ["allowlist accepts a listed token", { allowlist: ["abc", "minted"] }, "minted", WALLET, { ok: true, mode: "allowlist" }],
    ["allowlist refuses an unlisted token", { allowlist: ["abc"] }, "minted", WALLET, { ok: false, reason: "token_invalid" }],
    ["an empty token is missing", { authKey: KEY }, "", WALLET, { ok: false, reason: "token_missing" }],
  ];
  for (const [name, policy, token, wallet, expected] of cases) {
    test(name, async () => {
      expect(await verifyWorkerToken(policy, token, wallet)).toEqual(expected as never);
    });
  }
});
