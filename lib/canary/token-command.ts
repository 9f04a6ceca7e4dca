/**
 * `basis-canary token --wallet 0x…`: mints the wallet-bound worker token from the orchestrator's
 * BASIS_WORKER_AUTH_KEY, so an operator hands each worker its own token and never the key.
 * The token goes to stdout alone (pipe it into the worker's 0600 .env); the key is read from
 * the environment only and is never printed.
 */
import process from "node:process";
import { ORCHESTRATOR_ENV, readEnvVar } from "../core/env-schema.ts";
import { BasisError } from "../core/errors.ts";
import { deriveWalletToken, weakKeyWarning } from "../core/token.ts";
import { parseWallet } from "../core/wallet.ts";
import { say } from "../cli/_run.ts";
import { logger } from "../io/logger.ts";

export async function mintTokenCommand(options: { wallet: string | undefined }): Promise<void> {
  const wallet = parseWallet(options.wallet, "--wallet");
  const key = readEnvVar("BASIS_WORKER_AUTH_KEY", ORCHESTRATOR_ENV.BASIS_WORKER_AUTH_KEY, process.env.BASIS_WORKER_AUTH_KEY);
  if (!key) {
    throw new BasisError("auth_key_missing", "BASIS_WORKER_AUTH_KEY is not set: there is no key to mint a token from.", {
      exitCode: 2,
      hint: "Run this where the orchestrator's environment is (BASIS_WORKER_AUTH_KEY set, as for basis-canary serve).",
    });
  }
  const log = logger("token");
  const weak = weakKeyWarning(key);
  if (weak) log.warn(weak);
  say(await deriveWalletToken(key, wallet));
  log.info(`token for wallet ${wallet.toLowerCase()}: give it to that worker's operator as BASIS_WORKER_TOKEN (a secret; it works for this wallet only)`);
}
