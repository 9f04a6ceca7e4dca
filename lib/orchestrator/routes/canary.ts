/**
 * `POST /api/workers/:id/canary` (internal): sends one deterministic prompt to that worker and
 * judges the answer. A pass marks the worker's offers `verified` for 24 hours; a fail clears it.
 * Guarded by INTERNAL_API_SECRET, which is compared in constant time and never echoed.
 */
import type { InferenceRequest } from "../../core/protocol.ts";
import { constantTimeEqual } from "../../core/token.ts";
import { type DispatchDeps, type DispatchResult, dispatchJob } from "../dispatch.ts";
import { bearerToken, type Handler, HttpError, json } from "../http.ts";
import { verifiedUntil } from "../offers.ts";
import type { LiveWorker } from "../fleet.ts";
import type { ApiDeps } from "./_api.ts";
import { requireWorker } from "./workers.ts";

/** Slower than this is no service a buyer would want, whatever the hardware claims. */
export const MIN_CANARY_TOKENS_PER_S = 1;

export function canaryRequest(model: string): InferenceRequest {
  return {
    model,
    messages: [
      { role: "system", content: "You are answering a short Basis network check. Reply in plain English." },
      { role: "user", content: "Name the seven days of the week in order, separated by commas." },
    ],
    max_tokens: 64,
    temperature: 0,
    seed: 7,
  };
}

/** Plain words for each reason code, so an operator can act without reading the source. */
export const CANARY_REASONS: Record<string, string> = {
  simulator: "the echo simulator never passes: its jobs are not payable",
  dev_mode: "a dev-mode orchestrator (no worker auth configured) never verifies: its jobs are not payable",
  implausibly_fast: "the output was faster than real hardware produces",
  empty_output: "the answer was empty",
  incoherent_output: "the answer does not read as text",
  below_throughput_floor: `throughput was below ${MIN_CANARY_TOKENS_PER_S} token/s`,
  worker_failed: "the worker failed the job or its answer did not match what it streamed",
  worker_timeout: "the worker did not finish in time",
};

export interface CanaryEvidence {
  /** The anti-cheat verdict's reasons (empty when the job was payable). */
  verdictReasons: readonly string[];
  text: string;
  completionTokens: number;
  latencyMs: number;
}

export interface CanaryVerdict {
  passed: boolean;
  reasons: string[];
  tokensPerSecond: number;
}

/** Reads as language: some letters in words, mostly printable, not one character repeated. */
export function looksCoherent(text: string): boolean {
  const trimmed = text.trim();
  if (!/\p{L}{2,}/u.test(trimmed)) return false;
  const printable = [...trimmed].filter((ch) => /[\p{L}\p{N}\p{P}\p{Zs}\n]/u.test(ch)).length;
  if (printable / [...trimmed].length < 0.9) return false;
  return new Set(trimmed.replace(/\s/g, "")).size >= 3;
}

export function judgeCanary(evidence: CanaryEvidence): CanaryVerdict {
  const reasons = [...evidence.verdictReasons];
  const rate = evidence.completionTokens / (Math.max(evidence.latencyMs, 1) / 1000);
  if (evidence.text.trim() !== "" && !looksCoherent(evidence.text)) reasons.push("incoherent_output");
  // Judged before rounding, so a rate just under the floor cannot round up to it.
  if (evidence.completionTokens > 0 && rate < MIN_CANARY_TOKENS_PER_S) reasons.push("below_throughput_floor");
  return { passed: reasons.length === 0, reasons, tokensPerSecond: Math.round(rate * 100) / 100 };
}

function authorize(secret: string | undefined, token: string | undefined): void {
  if (!secret) throw new HttpError(403, "internal_api_disabled", "The internal API is off: INTERNAL_API_SECRET is not set on this server.");
  if (!token || !constantTimeEqual(token, secret)) throw new HttpError(401, "unauthorized");
}

/** The model to test: one the worker both offers and serves, else the first it serves. */
async function pickModel(deps: ApiDeps, session: LiveWorker): Promise<string> {
  const offer = await deps.store.latestOffer(session.info.worker_id);
  const offered = offer ? (JSON.parse(offer.manifest) as { models: { model_id: string }[] }).models.map((m) => m.model_id) : [];
  return offered.find((model) => session.info.models.includes(model)) ?? (session.info.models[0] as string);
}

async function runCanary(dispatch: DispatchDeps, workerId: string, model: string): Promise<CanaryVerdict> {
  let result: DispatchResult;
  try {
    result = await dispatchJob(dispatch, canaryRequest(model), { workerId, unpaidReason: "canary" });
  } catch (error) {
    if (!(error instanceof HttpError) || error.status === 503) throw error;
    if (error.code === "worker_failed" || error.code === "worker_timeout") return { passed: false, reasons: [error.code], tokensPerSecond: 0 };
    throw error;
  }
  return judgeCanary({
    verdictReasons: result.verdict.reasons,
    text: result.done.text,
    completionTokens: result.done.usage.completion_tokens,
    latencyMs: result.latencyMs,
  });
}

export function canaryRoute(deps: ApiDeps, dispatch: DispatchDeps, secret: string | undefined): Handler {
  return async ({ request, params }) => {
    authorize(secret, bearerToken(request));
    const worker = await requireWorker(deps, params.id);
    const session = await deps.fleet.get(worker.worker_id);
    if (!session) {
      throw new HttpError(409, "worker_not_connected", `Worker ${worker.worker_id} has no live socket session; the canary needs one.`, {
        hint: "Start the worker (basis-worker start) and try again.",
      });
    }
    const model = await pickModel(deps, session);
    const verdict = await runCanary(dispatch, worker.worker_id, model);
    const at = deps.now();
    await deps.store.recordCanary(worker.worker_id, verdict.passed, at);
    const explained = verdict.reasons.map((reason) => CANARY_REASONS[reason] ?? reason);
    return json(200, {
      worker_id: worker.worker_id,
      model,
      passed: verdict.passed,
      reasons: verdict.reasons,
      message: verdict.passed
        ? "Passed: the worker's offers read verified for 24 hours while it stays online. Verified is not proof of model identity."
        : `Not passed: ${explained.join("; ")}.`,
      tokensPerSecond: verdict.tokensPerSecond,
      minTokensPerSecond: MIN_CANARY_TOKENS_PER_S,
      checkedAt: new Date(at).toISOString(),
      verifiedUntil: verdict.passed ? verifiedUntil(at) : null,
    });
  };
}
