/** Builds the Runtime the config names. Backends load lazily: the echo path imports none. */
import type { WorkerConfig } from "../../core/worker-config.ts";
import { EchoRuntime } from "./echo.ts";
import type { Runtime } from "./runtime.ts";

export interface RuntimeTimeouts {
  firstTokenTimeoutMs?: number | undefined;
  totalTimeoutMs?: number | undefined;
}

export async function createRuntime(config: WorkerConfig, timeouts: RuntimeTimeouts = {}): Promise<Runtime> {
  // readWorkerConfig guarantees a backend model for every runtime but echo.
  const model = config.backend.model as string;
  switch (config.runtime) {
    case "echo":
      return new EchoRuntime();
    case "ollama": {
      const { OllamaRuntime } = await import("./ollama.ts");
      return new OllamaRuntime({ baseUrl: config.backend.url, model, advertised: config.models, ...defined(timeouts) });
    }
    case "llamacpp": {
      const { LlamaCppRuntime } = await import("./llamacpp.ts");
      return new LlamaCppRuntime({
        baseUrl: config.backend.url,
        model,
        advertised: config.models,
        ...(config.backend.apiKey ? { apiKey: config.backend.apiKey } : {}),
        ...defined(timeouts),
      });
    }
    case "vllm":
    case "openai": {
      const { OpenAICompatibleRuntime } = await import("./openai-compatible.ts");
      return new OpenAICompatibleRuntime({
        name: config.runtime,
        baseUrl: config.backend.url,
        model,
        advertised: config.models,
        ...(config.backend.apiKey ? { apiKey: config.backend.apiKey } : {}),
        ...defined(timeouts),
      });
    }
  }
}

function defined(timeouts: RuntimeTimeouts): { firstTokenTimeoutMs?: number; totalTimeoutMs?: number } {
  return Object.fromEntries(Object.entries(timeouts).filter(([, v]) => v !== undefined));
}
