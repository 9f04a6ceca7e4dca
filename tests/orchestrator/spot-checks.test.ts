/**
 * Spot checks end to end in process: a real orchestrator, real workers on the ollama runtime,
 * a fake Ollama. An honest model passes and stays payable; one that answers word salad ends
 * unverified and not payable (`failed_spot_check`) until it passes again.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Orchestrator } from "../../lib/orchestrator/server.ts";
import { OllamaRuntime } from "../../lib/worker/runtimes/ollama.ts";
import { type FakeOllama, startFakeOllama } from "../fakes/fake-ollama.ts";
import type { FakeModelScript } from "../fakes/fake-stream.ts";
import { dispatch, startTestOrchestrator, startTestWorker, waitUntil } from "../helpers/harness.ts";

const TOKEN = "spot-check-test-token";
let orchestrator: Orchestrator | undefined;
let fake: FakeOllama | undefined;
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await orchestrator?.close();
  await fake?.close();
});

const salad: FakeModelScript = {
  tokens: ["ungeschickt", " quel", " तथा", " sprawled", " ragione", " 碼", " Tottenham"],
  promptTokens: 12,
  tokenDelayMs: 1,
  ignoresInstructions: true,
};

async function worker(id: string, backendModel: string) {
  const runtime = new OllamaRuntime({ baseUrl: fake!.url, model: backendModel, advertised: [id] });
  const handle = await startTestWorker(
    orchestrator!,
    { BASIS_WORKER_ID: id, BASIS_WORKER_TOKEN: TOKEN, BASIS_WORKER_RUNTIME: "ollama", BASIS_OLLAMA_URL: fake!.url, BASIS_OLLAMA_MODEL: backendModel, BASIS_WORKER_MODELS: id },
    runtime,
  );
  stops.push(handle.stop);
}

async function ask(model: string): Promise<{ status: number; payable: string | null; text: string }> {
  const res = await dispatch(orchestrator!, { model, messages: [{ role: "user", content: "Tell me about rivers." }], max_tokens: 32 });
  return { status: res.status, payable: res.headers.get("x-basis-payable"), text: await res.text() };
}

async function ledger(id: string): Promise<{ reason: string | null; payable: boolean }[]> {
  const res = await fetch(`${orchestrator!.url}/api/workers/${id}/rewards`);
  return ((await res.json()) as { entries: { reason: string | null; payable: boolean }[] }).entries;
}

describe("spot checks", () => {
  test("an honest model stays payable; word salad ends not payable until it passes a check again", async () => {
    fake = startFakeOllama({ models: { honest: { tokens: ["Rivers", " carry", " water", "."], promptTokens: 12, tokenDelayMs: 1 }, salad } });
    orchestrator = await startTestOrchestrator({ policy: { allowlist: [TOKEN] }, spotCheckIntervalMs: 1_000 });
    await worker("honest-gpu", "honest");
    await worker("salad-gpu", "salad");
    await waitUntil("the honest worker verified", () => orchestrator!.registry.get("honest-gpu")?.spotCheck === "passed", 10_000);
    await waitUntil("the salad worker failed a check", () => orchestrator!.registry.get("salad-gpu")?.spotCheck === "failed", 10_000);

    const good = await ask("honest-gpu");
    expect(good.status).toBe(200);
    expect(good.payable).toBe("true");
    const view = async (id: string) => ((await (await fetch(`${orchestrator!.url}/api/workers/${id}`)).json()) as { worker: { unverified: boolean } }).worker;
    expect((await view("salad-gpu")).unverified).toBe(true);
    expect((await view("honest-gpu")).unverified).toBe(false);
    const bad = await ask("salad-gpu");
    expect(bad.status).toBe(200);
    expect(bad.payable).toBe("false");
    // The spot checks themselves are in no ledger: one line each, for the client's job.
    expect(await ledger("honest-gpu")).toEqual([expect.objectContaining({ payable: true, reason: null })]);
    const saladLines = await ledger("salad-gpu");
    expect(saladLines).toHaveLength(1);
    expect(saladLines[0]!.reason).toContain("failed_spot_check");

    // The backend is fixed: the next check (sooner after a failure) passes, and jobs pay again.
    salad.ignoresInstructions = false;
    await waitUntil("the salad worker verified again", () => orchestrator!.registry.get("salad-gpu")?.spotCheck === "passed", 15_000);
    expect((await ask("salad-gpu")).payable).toBe("true");
  }, 30_000);

  test("a failed check survives a reconnect under the same worker id", async () => {
    fake = startFakeOllama({ models: { salad: { ...salad, ignoresInstructions: true } } });
    orchestrator = await startTestOrchestrator({ policy: { allowlist: [TOKEN] }, spotCheckIntervalMs: 60_000 });
    await worker("salad-gpu", "salad");
    // The first check comes within 10 s of a connection (sooner with a shorter interval).
    await waitUntil("the check failed", () => orchestrator!.registry.get("salad-gpu")?.spotCheck === "failed", 15_000);
    const first = orchestrator.registry.get("salad-gpu")!;
    await stops.pop()!();
    await waitUntil("offline", () => orchestrator!.registry.get("salad-gpu") === undefined);
    await worker("salad-gpu", "salad");
    await waitUntil("back online", () => orchestrator!.registry.get("salad-gpu") !== undefined && orchestrator!.registry.get("salad-gpu") !== first);
    expect(orchestrator.registry.get("salad-gpu")!.spotCheck).toBe("failed");
    expect((await ask("salad-gpu")).payable).toBe("false");
  }, 30_000);
});
