/** How much each benchmark does. `full` is `make bench` (bounded well under 5 minutes on 2 cores); `tiny` is the smoke test. */

export interface BenchSizes {
  name: "full" | "tiny";
  /** Spawns of `basis-worker --version` and `--help` each. */
  coldStartRuns: number;
  /** Worker launches for launch-to-connected and idle RSS. */
  launchRuns: number;
  /** How long a connected worker idles before its RSS is read. */
  idleSettleMs: number;
  /** Concurrency-1 latency: rounds per side, requests per round, warm-up requests per side. */
  latencyRounds: number;
  latencyPerRound: number;
  warmupRequests: number;
  /** Open loop: rate, rounds per side, seconds per round. */
  openRate: number;
  openRounds: number;
  openSeconds: number;
  /** Streaming: time-to-first-token rounds and requests per round; relay rounds and tokens per stream. */
  ttftRounds: number;
  ttftPerRound: number;
  relayRounds: number;
  relayTokens: number;
  /** Dispatch throughput: echo workers, their concurrency, clients, rounds, seconds per round. */
  throughputWorkers: number;
  throughputWorkerConcurrency: number;
  throughputClients: number;
  throughputRounds: number;
  throughputSeconds: number;
  /** Scale: simulated connections, and dispatches sent once they are online. */
  scaleWorkers: number;
  scaleDispatches: number;
  /** Real engine (llama-server, tiny model): rounds per side, TTFT requests per round, tokens per rate stream. */
  engineRounds: number;
  engineTtftPerRound: number;
  engineTokens: number;
}

export const FULL: BenchSizes = {
  name: "full",
  coldStartRuns: 15,
  launchRuns: 5,
  idleSettleMs: 2_000,
  latencyRounds: 10,
  latencyPerRound: 220,
  warmupRequests: 300,
  openRate: 500,
  openRounds: 2,
  openSeconds: 4,
  ttftRounds: 5,
  ttftPerRound: 60,
  relayRounds: 3,
  relayTokens: 100_000,
  throughputWorkers: 4,
  throughputWorkerConcurrency: 32,
  throughputClients: 64,
  throughputRounds: 3,
  throughputSeconds: 3,
  scaleWorkers: 1_000,
  scaleDispatches: 200,
  engineRounds: 3,
  engineTtftPerRound: 10,
  engineTokens: 1_000,
};

export const TINY: BenchSizes = {
  name: "tiny",
  coldStartRuns: 2,
  launchRuns: 1,
  idleSettleMs: 200,
  latencyRounds: 2,
  latencyPerRound: 10,
  warmupRequests: 5,
  openRate: 200,
  openRounds: 1,
  openSeconds: 0.25,
  ttftRounds: 1,
  ttftPerRound: 3,
  relayRounds: 1,
  relayTokens: 500,
  throughputWorkers: 2,
  throughputWorkerConcurrency: 4,
  throughputClients: 4,
  throughputRounds: 1,
  throughputSeconds: 0.3,
  scaleWorkers: 20,
  scaleDispatches: 5,
  engineRounds: 1,
  engineTtftPerRound: 2,
  engineTokens: 64,
};
