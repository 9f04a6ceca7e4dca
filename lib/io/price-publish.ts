/**
 * `price publish`: validate the prices file, read the key from its one local source, sign the
 * manifest once in memory, self-verify, then POST it (or, with --dry-run, only show it).
 * The key never leaves this function's scope and is never printed, logged or written.
 */
import { readFile } from "node:fs/promises";
import process from "node:process";
import { BasisError } from "../core/errors.ts";
import { buildManifest, parsePricesFile } from "../core/manifest.ts";
import { signManifest } from "../core/manifest-signature.ts";
import { parseWorkerId } from "../core/worker-id.ts";
import { parseWallet } from "../core/wallet.ts";
import { print, say } from "../cli/_run.ts";
import { createBasisApi, resolveBaseUrl } from "./basis-api.ts";
import { readSigningKey, refuseKeyOnCommandLine } from "./key-source.ts";

export interface PublishPricesOptions {
  workerId: string;
  pricesPath: string;
  keyFile?: string | undefined;
  keyEnv?: string | undefined;
  keychain?: string | undefined;
  wallet?: string | undefined;
  ttlDays?: string | undefined;
  dryRun: boolean;
  base?: string | undefined;
  json: boolean;
}

export const NOT_EARNING_NOTE =
  "Publishing a price is not earning: rewards accrue only for completed, verified, worker-routed jobs, job routing is opt-in, and settlement is gated.";

function parseTtlDays(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 30) {
    throw new BasisError("ttl_malformed", "--ttl-days must be a whole number from 1 to 30.", { exitCode: 2 });
  }
  return Number(value) * 86_400;
}

async function readPrices(path: string) {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new BasisError("prices_file_missing", `Cannot read the prices file ${path}.`, {
      exitCode: 2,
      hint: "Start from templates/prices.example.json.",
    });
  }
  return parsePricesFile(text);
}

export async function publishPrices(options: PublishPricesOptions): Promise<void> {
  // First, before anything else: a key typed on the command line is refused, not used.
  refuseKeyOnCommandLine(process.argv.slice(2));
  const workerId = parseWorkerId(options.workerId);
  const ttlSeconds = parseTtlDays(options.ttlDays);
  const prices = await readPrices(options.pricesPath);
  const api = options.dryRun && !options.base ? undefined : createBasisApi({ base: resolveBaseUrl(options.base, process.env.BASIS_BASE_URL) });

  let wallet = options.wallet ? parseWallet(options.wallet, "--wallet") : undefined;
  if (!wallet && !options.dryRun && api) {
    const worker = await api.getWorker(workerId);
    if (!worker.worker_wallet) throw new BasisError("worker_wallet_unknown", `The API did not say which wallet ${workerId} is registered to.`, { hint: "Pass --wallet." });
    wallet = parseWallet(worker.worker_wallet, "registered wallet");
  }

  const key = await readSigningKey({ keyFile: options.keyFile, keyEnv: options.keyEnv, keychain: options.keychain });
  if (!wallet) {
    const { privateKeyToAccount } = await import("viem/accounts");
    wallet = privateKeyToAccount(key).address;
  }
  const unsigned = buildManifest({ prices, workerId, workerWallet: wallet, now: new Date(), ...(ttlSeconds ? { ttlSeconds } : {}) });
  const signed = await signManifest(unsigned, key);

  if (options.dryRun) {
    if (options.json) print({ manifest: signed.manifest, message: signed.message, signer: signed.signer, posted: false, note: NOT_EARNING_NOTE });
    else {
      say(`Signed and self-verified (dry run, nothing posted): ${signed.manifest.models.length} model(s), signer ${signed.signer}, valid until ${signed.manifest.valid_until}.`);
      say(NOT_EARNING_NOTE);
    }
    return;
  }
  const offer = await (api as NonNullable<typeof api>).publishPrices(signed.manifest);
  if (options.json) print({ ...offer, worker_id: workerId, signer: signed.signer, note: NOT_EARNING_NOTE });
  else {
    say(`Published offer ${offer.offerId} (price version ${offer.priceVersion}), state ${offer.state}.`);
    if (offer.state === "self_reported") say("self_reported: the signature and rails check out; capability is not proven until the worker passes a recent canary job.");
    say(NOT_EARNING_NOTE);
  }
}
