/**
 * What routing remembers about workers beyond their sessions: recent latency (EWMAs fed by
 * finished jobs, kept across reconnects) and the current ask of each worker's latest offer
 * (read from the store at most every few seconds, so every instance of a cluster sees new
 * offers soon after they are accepted anywhere).
 */
import { NETWORK_DEFAULT_ASK } from "../core/price-rails.ts";
import { ewma } from "../core/routing.ts";
import type { OfferRecord } from "./store.ts";

export interface Latency {
  ttftMs: number | undefined;
  tpotMs: number | undefined;
}

const LATENCY_REMEMBERED_MAX = 10_000;

export class LatencyBook {
  readonly #byWorker = new Map<string, Latency>();

  /** A completed job: its time to first token and, past one token, its time per output token. */
  observe(workerId: string, ttftMs: number | undefined, durationMs: number, outputTokens: number): void {
    if (ttftMs === undefined) return;
    const before = this.#byWorker.get(workerId) ?? { ttftMs: undefined, tpotMs: undefined };
    const after: Latency = {
      ttftMs: ewma(before.ttftMs, ttftMs),
      tpotMs: outputTokens > 1 ? ewma(before.tpotMs, Math.max(0, durationMs - ttftMs) / (outputTokens - 1)) : before.tpotMs,
    };
    this.#byWorker.delete(workerId);
    this.#byWorker.set(workerId, after);
    if (this.#byWorker.size > LATENCY_REMEMBERED_MAX) this.#byWorker.delete(this.#byWorker.keys().next().value as string);
  }

  get(workerId: string): Latency {
    return this.#byWorker.get(workerId) ?? { ttftMs: undefined, tpotMs: undefined };
  }
}

export const DEFAULT_OUTPUT_ASK = BigInt(NETWORK_DEFAULT_ASK.output_credits_per_1m);
const PRICE_REFRESH_MS = 5_000;

interface Ask {
  validUntil: number;
  output: Map<string, bigint>;
}

export class PriceBook {
  #asks = new Map<string, Ask>();
  #loadedAt = Number.NEGATIVE_INFINITY;
  #loading: Promise<void> | undefined;

  constructor(
    private readonly listLatestOffers: () => Promise<OfferRecord[]>,
    private readonly now: () => number,
  ) {}

  /** Reloads the offers when they are older than a few seconds; one load at a time. */
  async fresh(): Promise<void> {
    if (this.now() - this.#loadedAt < PRICE_REFRESH_MS) return;
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    await this.#loading;
  }

  /** An offer was just accepted here: the next dispatch reads it. */
  invalidate(): void {
    this.#loadedAt = Number.NEGATIVE_INFINITY;
  }

  /** Raw micro-credits per 1M output tokens: the worker's live offer for the model, else the network default. */
  outputAsk(workerId: string, model: string): bigint {
    const ask = this.#asks.get(workerId);
    if (!ask || ask.validUntil <= this.now()) return DEFAULT_OUTPUT_ASK;
    return ask.output.get(model) ?? DEFAULT_OUTPUT_ASK;
  }

  async #load(): Promise<void> {
    const offers = await this.listLatestOffers();
    const asks = new Map<string, Ask>();
    for (const offer of offers) asks.set(offer.worker_id, { validUntil: offer.valid_until, output: outputPrices(offer.manifest) });
    this.#asks = asks;
    this.#loadedAt = this.now();
  }
}

/** The accepted manifest was validated on the way in; a field that reads wrong here is skipped. */
function outputPrices(manifest: string): Map<string, bigint> {
  const prices = new Map<string, bigint>();
  try {
    const models = (JSON.parse(manifest) as { models?: { model_id?: unknown; output_credits_per_1m?: unknown }[] }).models ?? [];
    for (const model of models) {
      if (typeof model.model_id === "string" && typeof model.output_credits_per_1m === "string" && /^\d{1,30}$/.test(model.output_credits_per_1m)) {
        prices.set(model.model_id, BigInt(model.output_credits_per_1m));
      }
    }
  } catch {
    // An unreadable manifest leaves the worker at the network default.
  }
  return prices;
}
