/**
 * `basis-canary token --wallet`: the operator mints a wallet-bound token from the orchestrator's
 * key; a compiled worker holding only that token connects to `basis-canary serve`, and the key
 * never leaves the operator's environment.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deriveWalletToken } from "../../lib/core/token.ts";
import { CANARY_BIN, requireBinaries, run, WORKER_BIN } from "../helpers/binaries.ts";
import { waitUntil } from "../helpers/harness.ts";
import { KEY as PRIVATE_KEY, OTHER_WALLET, WALLET } from "./_cli.ts";

requireBinaries();

const AUTH_KEY = "orchestrator-auth-key-for-tests-0123456789abcdef";
const dir = mkdtempSync(join(tmpdir(), "basis-token-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BASIS_"))) as Record<string, string>;
  return { ...base, NO_COLOR: "1", XDG_STATE_HOME: join(dir, "state"), ...extra };
}

describe("basis-canary token", () => {
  test("prints the wallet-bound token alone on stdout, never the key", async () => {
    const result = await run([CANARY_BIN, "token", "--wallet", WALLET], { BASIS_WORKER_AUTH_KEY: AUTH_KEY });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${await deriveWalletToken(AUTH_KEY, WALLET)}\n`);
    expect(`${result.stdout}${result.stderr}`).not.toContain(AUTH_KEY);
    expect(result.stderr).toContain("BASIS_WORKER_TOKEN");
  });

  test("without BASIS_WORKER_AUTH_KEY: exit 2, a stable code, nothing on stdout", async () => {
    const result = await run([CANARY_BIN, "token", "--wallet", WALLET]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("auth_key_missing");
    expect(result.stdout).toBe("");
  });

  test("a private key given as the wallet is refused and never echoed", async () => {
    const result = await run([CANARY_BIN, "token", "--wallet", PRIVATE_KEY], { BASIS_WORKER_AUTH_KEY: AUTH_KEY });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("secret_refused");
    expect(`${result.stdout}${result.stderr}`).not.toContain(PRIVATE_KEY);
  });

  test("a compiled worker with only the minted token connects; one minted for another wallet stops at once", async () => {
    const portFile = join(dir, "port");
    const serve = Bun.spawn([CANARY_BIN, "serve", "--port", "0", "--port-file", portFile], {
      env: cleanEnv({ BASIS_WORKER_AUTH_KEY: AUTH_KEY, BASIS_SPOT_CHECK_INTERVAL_MS: "0" }),
      stdout: "ignore",
      stderr: "ignore",
    });
    try {
      await waitUntil("the port file", () => existsSync(portFile), 10_000);
      const base = `http://127.0.0.1:${readFileSync(portFile, "utf8").trim()}`;
      const minted = (await run([CANARY_BIN, "token", "--wallet", WALLET], { BASIS_WORKER_AUTH_KEY: AUTH_KEY })).stdout.trim();
      const worker = Bun.spawn([WORKER_BIN, "start"], {
        env: cleanEnv({ BASIS_WORKER_WALLET: WALLET, BASIS_WORKER_ID: "minted-gpu", BASIS_WORKER_TOKEN: minted, BASIS_ORCHESTRATOR_URL: base }),
        stdout: "ignore",
        stderr: "ignore",
      });
      try {
        await waitUntil(
          "the worker online",
          async () => ((await (await fetch(`${base}/api/workers/minted-gpu`)).json()) as { worker?: { online?: boolean } }).worker?.online === true,
          15_000,
        );
      } finally {
        worker.kill("SIGTERM");
        await worker.exited;
      }
      const wrong = await run([WORKER_BIN, "start"], {
        BASIS_WORKER_WALLET: OTHER_WALLET,
        BASIS_WORKER_ID: "wrong-gpu",
        BASIS_WORKER_TOKEN: minted,
        BASIS_ORCHESTRATOR_URL: base,
        XDG_STATE_HOME: join(dir, "state"),
      });
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toContain("token_bound_to_other_wallet");
      expect(`${wrong.stdout}${wrong.stderr}`).not.toContain(minted);
    } finally {
      serve.kill("SIGTERM");
      await serve.exited;
    }
  }, 40_000);
});
