import { describe, expect, test } from "bun:test";
import { BasisError } from "../../lib/core/errors.ts";
import { readWorkerConfig } from "../../lib/core/worker-config.ts";
import { defaultWorkerId } from "../../lib/core/worker-id.ts";

const WALLET = "0x52908400098527886e0f7030069857d2e4169ee7";
const KEY = `0x${"ab".repeat(32)}`;

describe("readWorkerConfig", () => {
  test("applies defaults for the echo runtime", () => {
    const config = readWorkerConfig({ BASIS_WORKER_WALLET: WALLET }, "gpu-box.local");
    expect(config).toMatchObject({
      wallet: WALLET,
      workerId: defaultWorkerId("gpu-box.local"),
      runtime: "echo",
      models: ["basis-default"],
      orchestratorUrl: "ws://localhost:8787",
      concurrency: 1,
    });
  });

  test("reads every documented variable", () => {
    const config = readWorkerConfig(
      {
        BASIS_WORKER_WALLET: WALLET,
        BASIS_WORKER_ID: "my-gpu-1",
        BASIS_WORKER_RUNTIME: "ollama",
        BASIS_OLLAMA_MODEL: "llama3.2",
        BASIS_WORKER_MODELS: "basis-default, basis-small,basis-default",
        BASIS_ORCHESTRATOR_URL: "wss://orch.example",
        BASIS_WORKER_TOKEN: "minted",
        BASIS_WORKER_AUTH_KEY: KEY, // a secret variable may hold a 64-hex value
        BASIS_WORKER_CONCURRENCY: "4",
      },
      "h",
    );
    expect(config).toMatchObject({
      workerId: "my-gpu-1",
      runtime: "ollama",
      models: ["basis-default", "basis-small"],
      orchestratorUrl: "wss://orch.example",
      token: "minted",
      authKey: KEY,
      concurrency: 4,
      backend: { url: "http://127.0.0.1:11434", model: "llama3.2" },
    });
  });

  test("reads several orchestrator URLs (one cluster), comma-separated", () => {
    const config = readWorkerConfig({ BASIS_WORKER_WALLET: WALLET, BASIS_ORCHESTRATOR_URL: "ws://a:8787, wss://b.example/basis" }, "h");
    expect(config.orchestratorUrl).toBe("ws://a:8787,wss://b.example/basis");
  });

  const bad: [string, Record<string, string>, string][] = [
    ["a missing wallet", {}, "wallet_missing"],
    ["a key as the wallet", { BASIS_WORKER_WALLET: KEY }, "secret_refused"],
    ["a key in a non-secret variable", { BASIS_WORKER_WALLET: WALLET, BASIS_WORKER_MODELS: KEY }, "secret_refused"],
    ["a phrase as worker id", { BASIS_WORKER_WALLET: WALLET, BASIS_WORKER_ID: "legal winner thank year wave sausage worth useful legal winner thank yellow" }, "secret_refused"],
    ["an unknown runtime", { BASIS_WORKER_WALLET: WALLET, BASIS_WORKER_RUNTIME: "tensorrt" }, "runtime_unknown"],
    ["a malformed worker id", { BASIS_WORKER_WALLET: WALLET, BASIS_WORKER_ID: "-bad id" }, "worker_id_malformed"],
    ["an over-long worker id", { BASIS_WORKER_WALLET: WALLET, BASIS_WORKER_ID: "w".repeat(64) }, "worker_id_malformed"],
    ["a non-URL orchestrator", { BASIS_WORKER_WALLET: WALLET, BASIS_ORCHESTRATOR_URL: "localhost 8787" }, "orchestrator_url_malformed"],
    ["an ftp orchestrator", { BASIS_WORKER_WALLET: WALLET, BASIS_ORCHESTRATOR_URL: "ftp://h" }, "orchestrator_url_malformed"],
    ["credentials in the URL", { BASIS_WORKER_WALLET: WALLET, BASIS_ORCHESTRATOR_URL: "ws://u:p@h" }, "orchestrator_url_malformed"],
    ["an empty entry in a URL list", { BASIS_WORKER_WALLET: WALLET, BASIS_ORCHESTRATOR_URL: "ws://a:1,,ws://b:2" }, "orchestrator_url_malformed"],
    ["a bad URL in a list", { BASIS_WORKER_WALLET: WALLET, BASIS_ORCHESTRATOR_URL: "ws://a:1,ftp://b" }, "orchestrator_url_malformed"],
    ["zero concurrency", { BASIS_WORKER_WALLET: WALLET, BASIS_WORKER_CONCURRENCY: "0" }, "env_invalid"],
    ["fractional concurrency", { BASIS_WORKER_WALLET: WALLET, BASIS_WORKER_CONCURRENCY: "1.5" }, "env_invalid"],
    ["ollama without a model", { BASIS_WORKER_WALLET: WALLET, BASIS_WORKER_RUNTIME: "ollama" }, "backend_model_missing"],
    ["openai without a URL", { BASIS_WORKER_WALLET: WALLET, BASIS_WORKER_RUNTIME: "openai", BASIS_OPENAI_MODEL: "m" }, "backend_url_missing"],
  ];
  for (const [name, env, code] of bad) {
    test(`refuses ${name} with ${code}`, () => {
      let caught: unknown;
      try {
        readWorkerConfig(env, "h");
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(BasisError);
      expect((caught as BasisError).code).toBe(code);
      expect((caught as BasisError).exitCode).toBe(2);
      expect((caught as BasisError).message).not.toContain("abab");
    });
  }
});

describe("defaultWorkerId", () => {
  test("is stable and a valid slug", () => {
    expect(defaultWorkerId("My GPU Box")).toBe(defaultWorkerId("My GPU Box"));
    expect(defaultWorkerId("My GPU Box")).toMatch(/^my-gpu-box-[0-9a-f]{6}$/);
    expect(defaultWorkerId("a")).not.toBe(defaultWorkerId("b"));
  });
});
