/**
 * The whole path for each real runtime: in-process reference orchestrator, the compiled worker
 * as a child process, and a fake backend that speaks the real wire format.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import type { Orchestrator } from "../../lib/orchestrator/server.ts";
import { startFakeOllama } from "../fakes/fake-ollama.ts";
import type { FakeModelScript } from "../fakes/fake-stream.ts";
import { startFakeVllm } from "../fakes/fake-vllm.ts";
import { binaryEnv, requireBinaries, run, WORKER_BIN } from "../helpers/binaries.ts";
import { dispatch, startTestOrchestrator, WALLET, waitUntil } from "../helpers/harness.ts";

requireBinaries();

const TOKENS = ["Basis ", "routes ", "jobs ", "to ", "GPUs", "."];
const scripts: Record<string, FakeModelScript> = {
  "good-model": { tokens: TOKENS, promptTokens: 11, pattern: "split", splitBytes: 7 },
  "long-model": { tokens: TOKENS, promptTokens: 11, finish: "length", pattern: "coalesce" },
  "broken-model": { tokens: TOKENS, errorAfterTokens: 2, errorMessage: "CUDA out of memory" },
  "cut-model": { tokens: TOKENS, endAfterTokens: 3 },
  "slow-model": { tokens: TOKENS, tokenDelayMs: 400 },
};

let orchestrator: Orchestrator;
let worker: Subprocess | undefined;
beforeAll(async () => {
  orchestrator = await startTestOrchestrator({ jobTimeoutMs: 5_000 });
});
afterAll(async () => {
  await orchestrator.close();
});
afterEach(async () => {
  worker?.kill("SIGTERM");
  await worker?.exited;
  worker = undefined;
  await waitUntil("worker gone", () => orchestrator.registry.size === 0);
});

async function startWorker(env: Record<string, string>): Promise<void> {
  worker = Bun.spawn([WORKER_BIN, "start"], {
    env: binaryEnv({
      BASIS_WORKER_WALLET: WALLET,
      BASIS_WORKER_ID: "runtime-worker",
      BASIS_WORKER_MODELS: "basis-default",
      BASIS_WORKER_CONCURRENCY: "4",
      BASIS_HEALTH_POLL_MS: "100",
      BASIS_ORCHESTRATOR_URL: orchestrator.url,
      ...env,
    }),
    stdout: "ignore",
    stderr: "ignore",
  });
  await waitUntil("worker online", () => orchestrator.registry.get("runtime-worker") !== undefined, 10_000);
}

interface Completion {
  choices: { message: { content: string }; finish_reason: string }[];
  usage: { prompt_tokens: number; completion_tokens: number };
  error: { code: string; message: string; worker_error?: string };
}

const ask = async (model: string, signal?: AbortSignal) => {
  const res = await dispatch(orchestrator, { model, messages: [{ role: "user", content: "hi" }], max_tokens: 100 }, signal ? { signal } : {});
  return { status: res.status, body: (await res.json()) as Completion, payable: res.headers.get("x-basis-payable") };
};

const backends = [
  {
    runtime: "ollama",
    start: () => startFakeOllama({ models: scripts }),
    env: (url: string, model: string) => ({ BASIS_WORKER_RUNTIME: "ollama", BASIS_OLLAMA_URL: url, BASIS_OLLAMA_MODEL: model }),
  },
  {
    runtime: "vllm",
    start: () => startFakeVllm({ models: scripts, apiKey: "vllm-test-key" }),
    env: (url: string, model: string) => ({
      BASIS_WORKER_RUNTIME: "vllm",
      BASIS_VLLM_URL: url,
      BASIS_VLLM_MODEL: model,
      BASIS_VLLM_API_KEY: "vllm-test-key",
    }),
  },
  {
    runtime: "openai",
    start: () => startFakeVllm({ models: scripts, errorShape: "flat" }),
    env: (url: string, model: string) => ({ BASIS_WORKER_RUNTIME: "openai", BASIS_OPENAI_URL: url, BASIS_OPENAI_MODEL: model }),
  },
];

/** The worker advertises basis-default and maps it to one backend model per scenario. */
async function serve(backend: (typeof backends)[number], url: string, model: string): Promise<void> {
  if (worker) {
    worker.kill("SIGTERM");
    await worker.exited;
    await waitUntil("worker gone", () => orchestrator.registry.size === 0);
  }
  await startWorker(backend.env(url, model));
}

for (const backend of backends) {
  describe(`compiled worker with the ${backend.runtime} runtime`, () => {
    test("serves exact text, usage and finish reasons; fails a broken or cut stream; cancels upstream", async () => {
      const fake = backend.start();
      try {
        await serve(backend, fake.url, "good-model");
        const good = await ask("basis-default");
        expect(good.status).toBe(200);
        expect(good.body.choices[0]!.message.content).toBe(TOKENS.join(""));
        expect(good.body.choices[0]!.finish_reason).toBe("stop");
        expect(good.body.usage).toEqual({ prompt_tokens: 11, completion_tokens: TOKENS.length, total_tokens: 11 + TOKENS.length } as never);
        expect(good.payable).toBe("false"); // a dev-mode orchestrator never pays

        // Backend down: the worker tells the orchestrator and is not routed; it recovers alone.
        fake.setHealthy(false);
        await waitUntil("unavailable", () => orchestrator.registry.get("runtime-worker")?.available === false, 3_000);
        expect((await ask("basis-default")).status).toBe(503);
        fake.setHealthy(true);
        await waitUntil("available again", () => orchestrator.registry.get("runtime-worker")?.available === true, 3_000);
        expect((await ask("basis-default")).status).toBe(200);

        await serve(backend, fake.url, "long-model");
        expect((await ask("basis-default")).body.choices[0]!.finish_reason).toBe("length");

        await serve(backend, fake.url, "broken-model");
        const broken = await ask("basis-default");
        expect(broken.status).toBe(502);
        expect(broken.body.error.code).toBe("worker_failed");
        // The backend's own text stays in the orchestrator's log; the client reads a fixed message.
        expect(broken.body.error).toMatchObject({ worker_error: "backend_error", message: "The worker's model backend failed the job." });
        expect(JSON.stringify(broken.body)).not.toContain("CUDA");

        await serve(backend, fake.url, "cut-model");
        const cut = await ask("basis-default");
        expect(cut.status).toBe(502);
        expect(cut.body.error.code).toBe("worker_failed");

        await serve(backend, fake.url, "slow-model");
        const abortsBefore = fake.aborts;
        const slowCalls = () => fake.requests.filter((r) => r.method === "POST" && (r.body as { model?: string } | undefined)?.model === "slow-model").length;
        const callsBefore = slowCalls();
        const client = new AbortController();
        const pending = ask("basis-default", client.signal).catch(() => "aborted");
        // Abort once the backend has the job (its tokens come 400 ms apart), not after a guessed delay.
        await waitUntil("the backend has the job", () => slowCalls() > callsBefore, 20_000);
        client.abort();
        expect(await pending).toBe("aborted");
        await waitUntil("the backend sees the abort", () => fake.aborts > abortsBefore, 3_000);
      } finally {
        await fake.close();
      }
    }, 40_000);
  });
}

describe("compiled worker start checks", () => {
  test("a model the backend lacks stops start with the exact fix", async () => {
    const fake = startFakeOllama({ models: scripts });
    try {
      const result = await run([WORKER_BIN, "start"], {
        BASIS_WORKER_WALLET: WALLET,
        BASIS_WORKER_RUNTIME: "ollama",
        BASIS_OLLAMA_URL: fake.url,
        BASIS_OLLAMA_MODEL: "llama3.2",
        BASIS_ORCHESTRATOR_URL: orchestrator.url,
      });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("model_missing");
      expect(result.stderr).toContain("ollama pull llama3.2");
    } finally {
      await fake.close();
    }
  });

  test("--pull fetches the model with progress, then serves it", async () => {
    const fake = startFakeOllama({ models: {}, pulls: { "llama3.2": { steps: 4 } }, pulledTokens: ["pulled ", "ok"] });
    try {
      const env = { BASIS_WORKER_RUNTIME: "ollama", BASIS_OLLAMA_URL: fake.url, BASIS_OLLAMA_MODEL: "llama3.2", BASIS_WORKER_MODELS: "llama3.2" };
      worker = Bun.spawn([WORKER_BIN, "start", "--pull"], {
        env: binaryEnv({ BASIS_WORKER_WALLET: WALLET, BASIS_WORKER_ID: "runtime-worker", BASIS_ORCHESTRATOR_URL: orchestrator.url, ...env }),
        stdout: "ignore",
        stderr: "pipe",
      });
      await waitUntil("worker online", () => orchestrator.registry.get("runtime-worker") !== undefined, 10_000);
      const res = await ask("llama3.2");
      expect(res.body.choices[0]!.message.content).toBe("pulled ok");
      worker.kill("SIGTERM");
      await worker.exited;
      const log = await new Response(worker.stderr as ReadableStream).text();
      expect(log).toMatch(/100%/);
      expect(log).toContain("llama3.2 is ready");
    } finally {
      await fake.close();
    }
  }, 30_000);
});
