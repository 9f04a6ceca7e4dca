import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ROOT } from "../helpers/binaries.ts";
import { llamaEngineDir } from "../../scripts/llama-engine.ts";

const script = join(ROOT, "scripts", "llama-engine.sh");
const pins = (await Bun.file(join(ROOT, "scripts", "llama-engine.json")).json()) as { llamaCppRelease: string };

function engine(args: string[], env: Record<string, string>) {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !["BASIS_LLAMA_CACHE", "BASIS_LLAMA_DIR", "XDG_CACHE_HOME", "LLAMA_VARIANT"].includes(k)),
  ) as Record<string, string>;
  return Bun.spawnSync(["bash", script, ...args], { env: { ...base, ...env }, stdout: "pipe", stderr: "pipe" });
}

describe("scripts/llama-engine.sh --dir and the test helper", () => {
  test.each([
    [{ HOME: "/home/op" }, `/home/op/.cache/basis-worker/llama-${pins.llamaCppRelease}`],
    [{ HOME: "/home/op", XDG_CACHE_HOME: "/xdg" }, `/xdg/basis-worker/llama-${pins.llamaCppRelease}`],
    [{ HOME: "/home/op", XDG_CACHE_HOME: "/xdg", BASIS_LLAMA_CACHE: "/ci/cache" }, `/ci/cache/llama-${pins.llamaCppRelease}`],
  ])("agree on the cache folder for %p", (env, expected) => {
    const result = engine(["--dir"], env);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.toString().trim()).toBe(expected);
    expect(llamaEngineDir(env)).toBe(expected);
  });

  test("keys a CUDA build apart from the CPU one", () => {
    const result = engine(["--dir"], { HOME: "/home/op", LLAMA_VARIANT: "cuda" });
    expect(result.stdout.toString().trim()).toBe(`/home/op/.cache/basis-worker/llama-${pins.llamaCppRelease}-cuda`);
  });

  test("refuses an unknown variant before touching anything", () => {
    const result = engine(["--dir"], { HOME: "/nonexistent", LLAMA_VARIANT: "rocm" });
    expect(result.exitCode).toBe(2);
    expect(result.stderr.toString()).toContain("unknown LLAMA_VARIANT 'rocm' (known: cpu cuda)");
  });

  test("the helper takes BASIS_LLAMA_DIR as given (a GPU host's CUDA build)", () => {
    expect(llamaEngineDir({ BASIS_LLAMA_DIR: "/opt/llama-cuda", HOME: "/home/op" })).toBe("/opt/llama-cuda");
  });
});
