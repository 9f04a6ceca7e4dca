/**
 * Which eligible worker gets a job. Each gets a weight: free capacity, times how fast it has
 * recently been (an EWMA of time to first token and of time per output token) relative to the
 * fastest, squared so speed counts most, times how low its current ask is relative to the
 * cheapest, with a floor. The pick is random in proportion to the weights, so load spreads and
 * a slow or dear worker still gets some jobs (and a chance to show it got faster). docs/PROTOCOL.md.
 */

export interface RouteCandidate {
  active: number;
  capacity: number;
  /** EWMA time to first token, ms; undefined until the worker has finished a job. */
  ttftMs: number | undefined;
  /** EWMA time per output token after the first, ms. */
  tpotMs: number | undefined;
  /** Raw micro-credits per 1M output tokens the worker currently asks for this model. */
  outputAsk: bigint;
}

/** A reference answer length: latency = TTFT + this many tokens at the worker's pace. */
export const REFERENCE_OUTPUT_TOKENS = 128;
/** Before any worker has a measurement: assumed TTFT and per-token time, ms. */
const DEFAULT_TTFT_MS = 500;
const DEFAULT_TPOT_MS = 20;
/** No worker with a free slot weighs less than this share of the heaviest: slow or dear ones still get some jobs, and a chance to show they got faster. */
export const MIN_RELATIVE_WEIGHT = 0.05;
/** Weight of the newest sample in the latency EWMAs. */
export const LATENCY_EWMA_ALPHA = 0.3;

export function ewma(previous: number | undefined, sample: number, alpha = LATENCY_EWMA_ALPHA): number {
  return previous === undefined ? sample : previous + alpha * (sample - previous);
}

function median(values: number[], fallback: number): number {
  if (values.length === 0) return fallback;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** One weight per candidate, in order; all positive for candidates with a free slot. */
export function routingWeights(candidates: readonly RouteCandidate[]): number[] {
  // A worker without a measurement is assumed typical (the median of the others), so it is tried.
  const typicalTtft = median(candidates.flatMap((c) => (c.ttftMs === undefined ? [] : [c.ttftMs])), DEFAULT_TTFT_MS);
  const typicalTpot = median(candidates.flatMap((c) => (c.tpotMs === undefined ? [] : [c.tpotMs])), DEFAULT_TPOT_MS);
  const expected = candidates.map((c) => Math.max(1, (c.ttftMs ?? typicalTtft) + (c.tpotMs ?? typicalTpot) * REFERENCE_OUTPUT_TOKENS));
  const fastest = Math.min(...expected);
  const cheapest = candidates.reduce((min, c) => (c.outputAsk < min ? c.outputAsk : min), candidates[0]?.outputAsk ?? 1n);
  const weights = candidates.map((c, i) => {
    const free = Math.max(0, c.capacity - c.active) / Math.max(1, c.capacity);
    const speed = fastest / (expected[i] as number);
    const price = Number(cheapest <= 0n ? 1n : cheapest) / Number(c.outputAsk <= 0n ? 1n : c.outputAsk);
    return free * speed * speed * Math.min(1, price);
  });
  const floor = Math.max(...weights) * MIN_RELATIVE_WEIGHT;
  return weights.map((w, i) => (candidates[i]!.capacity > candidates[i]!.active ? Math.max(w, floor) : 0));
}

/** The index of a weighted random pick, or -1 when no weight is positive. */
export function pickWeighted(weights: readonly number[], random: () => number = Math.random): number {
  const total = weights.reduce((sum, w) => sum + (w > 0 ? w : 0), 0);
  if (total <= 0) return -1;
  let point = random() * total;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i] as number;
    if (w <= 0) continue;
    if (point < w) return i;
    point -= w;
  }
  return weights.findLastIndex((w) => w > 0);
}
