import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { requireBinaries } from "../helpers/binaries.ts";
import { expectNoSecrets, makeScratch, OTHER_WALLET, type ServedApi, serveApi, WALLET, worker } from "./_cli.ts";

requireBinaries();

const scratch = makeScratch("register");
const dataDir = join(scratch.dir, "data");
let api: ServedApi;

beforeAll(async () => {
  api = await serveApi(dataDir);
});
afterAll(async () => {
  await api?.stop();
  scratch.cleanup();
});

describe("basis-worker register, then status across a server restart", () => {
  test("registers, says registration is not routing, and the record survives a restart", async () => {
    const registered = await worker(["register", "--wallet", WALLET, "--worker-id", "e2e-gpu-1", "--models", "basis-small,basis-default", "--base", api.url]);
    expect(registered.code).toBe(0);
    expect(registered.stdout).toContain(`Registered worker e2e-gpu-1 to wallet ${WALLET}.`);
    expect(registered.stdout).toContain("Registration is not routing");
    expect(registered.stdout).toContain("settlement is gated");
    expectNoSecrets(registered);

    await api.stop();
    api = await serveApi(dataDir);

    const status = await worker(["status", "--worker-id", "e2e-gpu-1", "--base", api.url]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/Worker\s+e2e-gpu-1/);
    expect(status.stdout).toMatch(/Status\s+offline/);
    expect(status.stdout).toMatch(/Jobs completed\s+0/);
    expect(status.stdout).toMatch(/Models\s+basis-small, basis-default/);
    expect(status.stdout).toMatch(/Runtime\s+echo/);
    expect(status.stdout).toContain("settlement is gated");
    expectNoSecrets(status);
  });

  test("BASIS_BASE_URL stands in for --base", async () => {
    const status = await worker(["status", "--worker-id", "e2e-gpu-1"], { BASIS_BASE_URL: api.url });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/Worker\s+e2e-gpu-1/);
  });

  test("registering the same id and wallet again changes nothing", async () => {
    const again = await worker(["register", "--wallet", WALLET, "--worker-id", "e2e-gpu-1", "--base", api.url]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("already registered");
  });

  test("the same id with another wallet is refused as taken (409)", async () => {
    const taken = await worker(["register", "--wallet", OTHER_WALLET, "--worker-id", "e2e-gpu-1", "--base", api.url]);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain("error [worker_id_taken]");
    expect(taken.stderr).toContain("already registered to another wallet");
  });

  test("register --json prints one object with the worker", async () => {
    const result = await worker(["register", "--wallet", WALLET, "--worker-id", "e2e-json", "--runtime", "ollama", "--base", api.url, "--json"]);
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout);
    expect(body.registered).toBe(true);
    expect(body.created).toBe(true);
    expect(body.worker.worker_id).toBe("e2e-json");
    expect(body.worker.runtime).toBe("ollama");
    expect(body.worker.models).toEqual(["basis-default"]);
  });

  test("status --rewards --onboarding shows the ledger as integer strings and the gates in plain words", async () => {
    const result = await worker(["status", "--worker-id", "e2e-gpu-1", "--rewards", "--onboarding", "--base", api.url]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Pending\s+0 \(/);
    expect(result.stdout).toMatch(/Settled\s+0 \(/);
    expect(result.stdout).toContain("Settlement is gated");
    expect(result.stdout).toContain("cannot be claimed on-chain yet");
    expect(result.stdout).toMatch(/Registration\s+registered/);
    expect(result.stdout).toContain("This worker cannot receive jobs yet.");
    expectNoSecrets(result);
  });

  test("status --json prints one object {worker, rewards, onboarding}", async () => {
    const result = await worker(["status", "--worker-id", "e2e-gpu-1", "--rewards", "--onboarding", "--json", "--base", api.url]);
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout);
    expect(Object.keys(body).sort()).toEqual(["onboarding", "rewards", "worker"]);
    expect(body.worker.online).toBe(false);
    expect(typeof body.rewards.pending).toBe("string");
    expect(body.rewards.settlement.state).toBe("gated");
    expect(Array.isArray(body.onboarding.rows)).toBe(true);
  });

  test("status of an unregistered worker says how to register it", async () => {
    const result = await worker(["status", "--worker-id", "never-registered", "--base", api.url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error [worker_not_found]");
    expect(result.stderr).toContain("basis-worker register");
  });
});
