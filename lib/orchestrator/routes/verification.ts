/**
 * `POST /api/workers/:id/verification` (internal): the network's verification job. It sends one
 * deterministic prompt to that worker and judges the answer; a pass marks the worker's offers
 * `verified` for 24 hours, a fail clears it. Guarded by INTERNAL_API_SECRET (server.ts), which
 * is compared in constant time and never echoed. Not to be confused with `basis-canary`, the
 * local self-test program (lib/canary/).
 */
import { VerificationSchema } from "../../core/api-contract.ts";
import type { InferenceRequest } from "../../core/protocol.ts";
import { type DispatchDeps, DispatchError, type DispatchResult, dispatchJob } from "../dispatch.ts";
import { answer, type Handler, HttpError } from "../http.ts";
import { verifiedUntil } from "../offers.ts";
import type { LiveWorker } from "../fleet.ts";
import type { ApiDeps } from "./_api.ts";
import { requireWorker } from "./workers.ts";

/** The ledger's reason for a verification job: the network's own test, never credited. */
const UNPAID_REASON = "verification";

/** Slower than this is no service a buyer would want, whatever the hardware claims. */
export const MIN_VERIFICATION_TOKENS_PER_S = 1;

export function verificationRequest(model: string): InferenceRequest {
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
export const VERIFICATION_REASONS: Record<string, string> = {
  simulator: "the echo simulator never passes: its jobs are not payable",
  dev_mode: "a dev-mode orchestrator (no worker auth configured) never verifies: its jobs are not payable",
  implausibly_fast: "the output was faster than real hardware produces",
  empty_output: "the answer was empty",
  incoherent_output: "the answer does not read as text",
  below_throughput_floor: `throughput was below ${MIN_VERIFICATION_TOKENS_PER_S} token/s`,
  worker_failed: "the worker failed the job or its answer did not match what it streamed",
  worker_timeout: "the worker did not finish in time",
};

export interface VerificationEvidence {
  /** The anti-cheat verdict's reasons (empty when the job was payable). */
  verdictReasons: readonly string[];
  text: string;
  completionTokens: number;
  latencyMs: number;
}

export interface VerificationVerdict {
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

export function judgeVerification(evidence: VerificationEvidence): VerificationVerdict {
  const reasons = [...evidence.verdictReasons];
  const rate = evidence.completionTokens / (Math.max(evidence.latencyMs, 1) / 1000);
  if (evidence.text.trim() !== "" && !looksCoherent(evidence.text)) reasons.push("incoherent_output");
  // Judged before rounding, so a rate just under the floor cannot round up to it.
  if (evidence.completionTokens > 0 && rate < MIN_VERIFICATION_TOKENS_PER_S) reasons.push("below_throughput_floor");
  return { passed: reasons.length === 0, reasons, tokensPerSecond: Math.round(rate * 100) / 100 };
}

/** The model to test: one the worker both offers and serves, else the first it serves. */
async function pickModel(deps: ApiDeps, session: LiveWorker): Promise<string> {
  const offer = await deps.store.latestOffer(session.info.worker_id);
  const offered = offer ? (JSON.parse(offer.manifest) as { models: { model_id: string }[] }).models.map((m) => m.model_id) : [];
  return offered.find((model) => session.info.models.includes(model)) ?? (session.info.models[0] as string);
}

async function runVerification(dispatch: DispatchDeps, workerId: string, model: string): Promise<VerificationVerdict> {
  let result: DispatchResult;
  try {
    result = await dispatchJob(dispatch, verificationRequest(model), { workerId, unpaidReason: UNPAID_REASON });
  } catch (error) {
    // A worker that failed or ran out of time fails the check; no worker to ask is the route's 503.
    if (error instanceof DispatchError && error.reason === "worker_failed") return { passed: false, reasons: ["worker_failed"], tokensPerSecond: 0 };
    if (error instanceof DispatchError && error.reason === "timeout") return { passed: false, reasons: ["worker_timeout"], tokensPerSecond: 0 };
    throw error;
  }
  return judgeVerification({
    // Unpaid because it is the network's own job, which says nothing about the worker.
    verdictReasons: result.verdict.reasons.filter((reason) => reason !== UNPAID_REASON),
    text: result.done.text,
    completionTokens: result.done.usage.completion_tokens,
    latencyMs: result.latencyMs,
  });
}

/** Guarded by `requireInternalSecret` (server.ts): off without INTERNAL_API_SECRET, else a Bearer check. */
export function verificationRoute(deps: ApiDeps, dispatch: DispatchDeps): Handler {
  return async ({ params }) => {
    const worker = await requireWorker(deps, params.id);
    const session = await deps.fleet.get(worker.worker_id);
    if (!session) {
      throw new HttpError(409, "worker_not_connected", `Worker ${worker.worker_id} has no live socket session; the verification job needs one.`, {
        hint: "Start the worker (basis-worker start) and try again.",
      });
    }
    const model = await pickModel(deps, session);
    const verdict = await runVerification(dispatch, worker.worker_id, model);
    const at = deps.now();
    await deps.store.recordVerification(worker.worker_id, verdict.passed, at);
    const explained = verdict.reasons.map((reason) => VERIFICATION_REASONS[reason] ?? reason);
    return answer(VerificationSchema, 200, {
      worker_id: worker.worker_id,
      model,
      passed: verdict.passed,
      reasons: verdict.reasons,
      message: verdict.passed
        ? "Passed: the worker's offers read verified for 24 hours while it stays online. Verified is not proof of model identity."
        : `Not passed: ${explained.join("; ")}.`,
      tokensPerSecond: verdict.tokensPerSecond,
      minTokensPerSecond: MIN_VERIFICATION_TOKENS_PER_S,
      checkedAt: new Date(at).toISOString(),
      verifiedUntil: verdict.passed ? verifiedUntil(at) : null,
    });
  };
}
