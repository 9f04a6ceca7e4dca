/** Shared fixtures for price-manifest tests: throwaway keys and a model at the default ask. */
import { type Hex, keccak256, toBytes } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { ModelOffer } from "../../lib/core/manifest.ts";

/** A key derived from a label at run time: public, holds no funds, for tests only. */
export function throwawayKey(label: string): { key: Hex; wallet: Hex } {
  const key = keccak256(toBytes(label));
  return { key, wallet: privateKeyToAccount(key).address };
}

export const DEFAULT_MODEL_OFFER: ModelOffer = {
  model_id: "basis-default",
  runtime: "ollama",
  prompt_credits_per_1m: "460000000",
  output_credits_per_1m: "1840000000",
  min_job_credits: "50000000",
  max_context_tokens: 32768,
  max_output_tokens: 4096,
  concurrency: 2,
};
