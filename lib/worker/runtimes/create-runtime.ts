/** Builds the Runtime the config names. Backends load lazily: the echo path imports none. */
import type { WorkerConfig } from "../../core/worker-config.ts";
import { EchoRuntime } from "./echo.ts";
import type { Runtime } from "./runtime.ts";

export async function createRuntime(config: WorkerConfig): Promise<Runtime> {
  switch (config.runtime) {
    case "echo":
      return new EchoRuntime();
    default: {
      const { BasisError } = await import("../../core/errors.ts");
      throw new BasisError("runtime_unavailable", `The ${config.runtime} runtime is not built into this binary yet.`, {
        exitCode: 2,
        hint: "Use BASIS_WORKER_RUNTIME=echo.",
      });
    }
  }
}
