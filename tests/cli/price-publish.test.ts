import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Hex } from "viem";
import { canonicalOfferMessage } from "../../lib/core/canonical-json.ts";
import { BasisError } from "../../lib/core/errors.ts";
import { DEFAULT_MODEL_OFFER, throwawayKey } from "../helpers/prices.ts";
import { buildManifest, type Manifest } from "../../lib/core/manifest.ts";
import { signManifest, verifyManifest } from "../../lib/core/manifest-signature.ts";
import { createBasisApi } from "../../lib/io/basis-api.ts";
import type { Orchestrator } from "../../lib/orchestrator/server.ts";
import { requireBinaries, type RunResult } from "../helpers/binaries.ts";
import { call, register, registration, startApi } from "../orchestrator/_helpers.ts";
import { makeScratch, worker } from "./_cli.ts";

requireBinaries();

// Throwaway keys derived from labels at run time: public, no funds, test only.
const { key: KEY, wallet: WALLET } = throwawayKey("basis-worker price publish e2e key A");
const { key: OTHER_KEY, wallet: OTHER_WALLET } = throwawayKey("basis-worker price publish e2e key B");
const NOT_EARNING = "Publishing a price is not earning";

const scratch = makeScratch("price");
const pricesPath = join(scratch.dir, "prices.json");
const lowPricesPath = join(scratch.dir, "low-prices.json");
const keyFile = join(scratch.dir, "reward.key");
const openKeyFile = join(scratch.dir, "open.key");
const MODEL = DEFAULT_MODEL_OFFER;
let api: Orchestrator;

beforeAll(async () => {
  writeFileSync(pricesPath, JSON.stringify({ hardware: { gpu: "RTX 4090" }, models: [MODEL] }));
  writeFileSync(lowPricesPath, JSON.stringify({ hardware: {}, models: [{ ...MODEL, prompt_credits_per_1m: "9999999" }] }));
  writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  writeFileSync(openKeyFile, `${KEY}\n`);
  chmodSync(openKeyFile, 0o644);
  api = await startApi();
  await register(api, registration("gpu-1", WALLET));
  await register(api, registration("gpu-other", OTHER_WALLET));
});
afterAll(async () => {
  await api?.close();
  scratch.cleanup();
});

const publish = (args: string[], env: Record<string, string> = {}) =>
  worker(["price", "publish", "--worker-id", "gpu-1", "--prices", pricesPath, "--base", api.url, ...args], { ...scratch.env, ...env });
const version = async (workerId = "gpu-1") => (await api.store.latestOffer(workerId))?.price_version ?? 0;

/** Neither key may show up anywhere in what the command printed, in any letter case. */
function expectNoKey(result: RunResult): void {
  const all = `${result.stdout}\n${result.stderr}`.toLowerCase();
  for (const key of [KEY, OTHER_KEY]) expect(all).not.toContain(key.slice(2).toLowerCase());
  expect(all).not.toMatch(/earn now|passive income|\byield\b|\bAPY\b|guaranteed|risk-free/i);
}

describe("basis-worker price publish", () => {
  test("--dry-run --json prints the signed manifest, the canonical message and the signer, and posts nothing", async () => {
    const result = await publish(["--key-file", keyFile, "--dry-run", "--json"]);
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as { manifest: Manifest; message: string; signer: string };
    expect(body.signer).toBe(WALLET);
    expect(body.manifest.worker_wallet).toBe(WALLET);
    expect(body.manifest.signature).toMatch(/^0x[0-9a-f]{130}$/);
    expect(body.message).toBe(canonicalOfferMessage(body.manifest));
    expect((await verifyManifest(body.manifest)).ok).toBe(true);
    expect(await version()).toBe(0);
    expectNoKey(result);
  });

  test("publishes, prints offerId, priceVersion and state, and says publishing is not earning", async () => {
    const result = await publish(["--key-file", keyFile]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Published offer off_[0-9a-f]{24} \(price version 1\), state self_reported\./);
    expect(result.stdout).toContain(NOT_EARNING);
    expect(result.stdout).toContain("settlement is gated");
    expectNoKey(result);
    const market = await call(api, "GET", "/api/workers/market");
    expect(market.body.offers[0]).toMatchObject({ worker_id: "gpu-1", priceVersion: 1 });
  });

  test("--json publishes the next priceVersion from a key in the environment", async () => {
    const result = await publish(["--json"], { BASIS_WORKER_PRIVATE_KEY: KEY });
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout);
    expect(body).toMatchObject({ priceVersion: await version(), state: "self_reported", worker_id: "gpu-1", signer: WALLET });
    expect(body.offerId).toMatch(/^off_[0-9a-f]{24}$/);
    expect(body.note).toContain(NOT_EARNING);
    expectNoKey(result);
  });

  test("refuses a key file readable by others (0644) and posts nothing", async () => {
    const before = await version();
    const result = await publish(["--key-file", openKeyFile]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error [key_file_mode]");
    expect(result.stderr).toContain(`chmod 600 ${openKeyFile}`);
    expect(await version()).toBe(before);
    expectNoKey(result);
  });

  const ON_THE_COMMAND_LINE: [string, string[]][] = [
    ["as a positional argument", [KEY]],
    ["without 0x, as a positional argument", [KEY.slice(2)]],
    ["as --key-file's value", ["--key-file", KEY]],
    ["as --key-env=VALUE", [`--key-env=${KEY}`]],
    ["as an unknown flag's value", ["--key", KEY]],
    ["as --wallet's value", ["--wallet", KEY]],
  ];
  for (const [how, extra] of ON_THE_COMMAND_LINE) {
    test(`refuses a key given ${how}, without echoing it or posting`, async () => {
      const before = await version();
      const result = await publish(extra, { BASIS_WORKER_PRIVATE_KEY: KEY });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("error [key_on_command_line]");
      expect(await version()).toBe(before);
      expectNoKey(result);
    });
  }

  test("refuses a key given as --worker-id's value", async () => {
    const result = await worker(["price", "publish", "--worker-id", KEY, "--prices", pricesPath, "--base", api.url], scratch.env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error [key_on_command_line]");
    expectNoKey(result);
  });

  test("refuses a key that is not the registered wallet's before posting", async () => {
    const before = await version();
    const result = await publish([], { BASIS_WORKER_PRIVATE_KEY: OTHER_KEY });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error [signer_mismatch]");
    expect(result.stderr).toContain(WALLET);
    expect(await version()).toBe(before);
    expectNoKey(result);
  });

  test("says in plain words when the server refuses the signer (--wallet names another wallet)", async () => {
    const before = await version();
    const result = await publish(["--wallet", OTHER_WALLET], { BASIS_WORKER_PRIVATE_KEY: OTHER_KEY });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error [signer_not_registered_wallet]");
    expect(result.stderr).toContain("not signed by the wallet registered for worker gpu-1");
    expect(await version()).toBe(before);
    expectNoKey(result);
  });

  test("refuses a price below a rail, naming the field and the rail, and posts nothing", async () => {
    const before = await version();
    const result = await worker(
      ["price", "publish", "--worker-id", "gpu-1", "--prices", lowPricesPath, "--base", api.url, "--key-file", keyFile],
      scratch.env,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error [price_out_of_rails]");
    expect(result.stderr).toContain("models[0].prompt_credits_per_1m");
    expect(result.stderr).toContain("prompt_floor");
    expect(await version()).toBe(before);
    expectNoKey(result);
  });

  test("refuses an unregistered worker id with the command to run next", async () => {
    const result = await worker(["price", "publish", "--worker-id", "gpu-nobody", "--prices", pricesPath, "--base", api.url], {
      ...scratch.env,
      BASIS_WORKER_PRIVATE_KEY: KEY,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("error [worker_not_found]");
    expect(result.stderr).toContain("basis-worker register");
  });
});

describe("createBasisApi().publishPrices against the reference API", () => {
  async function signedFor(workerId: string, key: Hex, wallet: string, model: Record<string, unknown> = {}) {
    const unsigned = buildManifest({ prices: { hardware: {}, models: [MODEL] }, workerId, workerWallet: wallet, now: new Date() });
    return (await signManifest({ ...unsigned, models: [{ ...MODEL, ...model }] }, key)).manifest;
  }
  const client = () => createBasisApi({ base: api.url, tries: 1 });
  async function refusal(manifest: unknown): Promise<BasisError> {
    const error = await client().publishPrices(manifest as Manifest).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BasisError);
    return error as BasisError;
  }

  test("returns the stored offer", async () => {
    const offer = await client().publishPrices(await signedFor("gpu-other", OTHER_KEY, OTHER_WALLET));
    expect(offer).toMatchObject({ priceVersion: 1, state: "self_reported" });
  });

  test("maps a rail refusal to manifest_rejected naming the field and the rail", async () => {
    const error = await refusal(await signedFor("gpu-other", OTHER_KEY, OTHER_WALLET, { output_credits_per_1m: "12000000001" }));
    expect(error.code).toBe("manifest_rejected");
    expect(error.message).toContain("models[0].output_credits_per_1m is outside the rail price_max");
    expect(error.exitCode).toBe(2);
  });

  test("maps a malformed manifest to manifest_rejected naming the field", async () => {
    const manifest = await signedFor("gpu-other", OTHER_KEY, OTHER_WALLET);
    const error = await refusal({ ...manifest, nonce: "short" });
    expect(error.code).toBe("manifest_rejected");
    expect(error.message).toContain("nonce is invalid");
  });

  test("maps a signer the server does not know to signer_not_registered_wallet", async () => {
    const error = await refusal(await signedFor("gpu-other", KEY, WALLET));
    expect(error.code).toBe("signer_not_registered_wallet");
    expect(error.message).toContain("gpu-other");
  });

  test("maps a replayed manifest to offer_replayed", async () => {
    const manifest = await signedFor("gpu-other", OTHER_KEY, OTHER_WALLET);
    await client().publishPrices(manifest);
    const error = await refusal(manifest);
    expect(error.code).toBe("offer_replayed");
    expect(error.hint).toContain("publish again");
  });
});
