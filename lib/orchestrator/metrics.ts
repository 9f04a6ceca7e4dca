/**
 * What an operator scrapes from `GET /metrics` (Prometheus text, through prom-client): workers
 * online, jobs by outcome, tokens, dispatches refused or queued by reason, worker penalties,
 * and the OpenTelemetry GenAI histograms under their Prometheus names. One registry per
 * orchestrator, so two in one process never share counters.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** What dispatch reports about one job once it is over. */
export interface JobEvent {
  jobId: string;
  model: string;
  workerId: string;
  /** `completed`, or why not: `worker_failed`, `worker_timeout`, `client_closed`, `stream_mismatch`. */
  outcome: string;
  promptTokens: number;
  outputTokens: number;
  /** Time to first token, when one came. */
  ttftMs: number | undefined;
  durationMs: number;
  payable: boolean;
  /** Why the job paid nothing or failed, when it did. */
  reasons: readonly string[];
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const PER_TOKEN = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 1];
const TOKENS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576];

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #jobs;
  readonly #tokens;
  readonly #refused;
  readonly #queued;
  readonly #penalties;
  readonly #moved;
  readonly #ttft;
  readonly #perToken;
  readonly #duration;
  readonly #usage;

  constructor(workersOnline: () => number, workersAvailable: () => number, queueDepths: () => [string, number][] = () => []) {
    const registers = [this.registry];
    new Gauge({
      name: "basis_queue_waiting",
      help: "Requests waiting for a free worker, by model.",
      labelNames: ["model"],
      registers,
      collect() {
        this.reset();
        for (const [model, waiting] of queueDepths()) this.set({ model }, waiting);
      },
    });
    new Gauge({ name: "basis_workers_online", help: "Workers connected by socket.", registers, collect() { this.set(workersOnline()); } });
    new Gauge({ name: "basis_workers_available", help: "Connected workers that take jobs (backend up, not draining).", registers, collect() { this.set(workersAvailable()); } });
    this.#jobs = new Counter({ name: "basis_jobs_total", help: "Jobs by model and outcome.", labelNames: ["model", "outcome"], registers });
    this.#tokens = new Counter({ name: "basis_tokens_total", help: "Tokens of completed jobs, server-counted.", labelNames: ["model", "type"], registers });
    this.#refused = new Counter({ name: "basis_dispatches_refused_total", help: "Requests refused before any worker ran them, by reason.", labelNames: ["reason"], registers });
    this.#queued = new Counter({ name: "basis_dispatches_queued_total", help: "Requests that waited for a free worker, by model.", labelNames: ["model"], registers });
    this.#penalties = new Counter({ name: "basis_worker_penalties_total", help: "Setbacks (earned capacity halved, a cooldown) by worker and reason: timeout, no_first_token, worker_failed, misconduct.", labelNames: ["worker_id", "reason"], registers });
    this.#moved = new Counter({ name: "basis_jobs_moved_total", help: "Jobs moved to another worker before their first token, by reason (no_first_token, worker_failed).", labelNames: ["model", "reason"], registers });
    const genAi = ["gen_ai_operation_name", "gen_ai_request_model"];
    this.#ttft = new Histogram({ name: "gen_ai_server_time_to_first_token_seconds", help: "Time to first token (gen_ai.server.time_to_first_token).", labelNames: genAi, buckets: SECONDS, registers });
    this.#perToken = new Histogram({ name: "gen_ai_server_time_per_output_token_seconds", help: "Time per output token after the first (gen_ai.server.time_per_output_token).", labelNames: genAi, buckets: PER_TOKEN, registers });
    this.#duration = new Histogram({ name: "gen_ai_server_request_duration_seconds", help: "Request duration (gen_ai.server.request.duration).", labelNames: [...genAi, "error_type"], buckets: SECONDS, registers });
    this.#usage = new Histogram({ name: "gen_ai_client_token_usage", help: "Tokens per request (gen_ai.client.token.usage).", labelNames: [...genAi, "gen_ai_token_type"], buckets: TOKENS, registers });
  }

  job(event: JobEvent): void {
    const labels = { gen_ai_operation_name: "chat", gen_ai_request_model: event.model };
    this.#jobs.inc({ model: event.model, outcome: event.outcome });
    this.#duration.observe({ ...labels, error_type: event.outcome === "completed" ? "" : event.outcome }, event.durationMs / 1000);
    if (event.outcome !== "completed") return;
    this.#tokens.inc({ model: event.model, type: "prompt" }, event.promptTokens);
    this.#tokens.inc({ model: event.model, type: "output" }, event.outputTokens);
    this.#usage.observe({ ...labels, gen_ai_token_type: "input" }, event.promptTokens);
    this.#usage.observe({ ...labels, gen_ai_token_type: "output" }, event.outputTokens);
    if (event.ttftMs !== undefined) {
      this.#ttft.observe(labels, event.ttftMs / 1000);
      if (event.outputTokens > 1) this.#perToken.observe(labels, (event.durationMs - event.ttftMs) / 1000 / (event.outputTokens - 1));
    }
  }

  refused(reason: string): void {
    this.#refused.inc({ reason });
  }

  queued(model: string): void {
    this.#queued.inc({ model });
  }

  moved(model: string, reason: string): void {
    this.#moved.inc({ model, reason });
  }

  /** A setback the trust rules gave a worker (sessions.ts). */
  penalty(workerId: string, reason: string): void {
    this.#penalties.inc({ worker_id: workerId, reason });
  }

  async text(): Promise<string> {
    return await this.registry.metrics();
  }
}

