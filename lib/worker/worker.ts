/**
 * The worker: one Socket.io connection to an orchestrator, jobs run through a Runtime, results
 * streamed back. Holds no key and signs nothing; logs the public wallet only, never the token.
 */
import type { ConsolaInstance } from "consola";
import { setImmediate } from "node:timers";
import type { Socket } from "socket.io-client";
import { type ConnectionFailure, describeRefusal } from "../core/connection-failure.ts";
import { WORKER_ENV } from "../core/env-schema.ts";
import { BasisError } from "../core/errors.ts";
import { describeUrl } from "../core/public-url.ts";
import { type SocketTarget, socketTargets } from "../core/socket-target.ts";
import {
  EVENTS,
  type Handshake,
  type JobAck,
  type JobAssign,
  JobAssignSchema,
  JobCancelSchema,
  PROTOCOL_VERSION,
  parsePayload,
  WelcomeSchema,
} from "../core/protocol.ts";
import { isEmptyDelta, mergeDelta, type OutputDelta } from "../core/output-collector.ts";
import { unhonouredParam } from "../core/runtime-capabilities.ts";
import { handshakeAuth } from "../core/token.ts";
import type { WorkerConfig } from "../core/worker-config.ts";
import type { Runtime } from "./runtimes/runtime.ts";

const DEADLINE_GRACE_MS = 1_000;
/**
 * At most one `job:chunk` per job this often. A fast engine (a small model on llama-server or
 * vLLM) streams well over 1,000 tokens a second, each in its own read; one event per token would
 * outrun the orchestrator's per-job event budget (500/s, docs/PROTOCOL.md), and a dropped chunk
 * fails the job as a stream mismatch. 5 ms caps a job at 200 events/s and delays no token more.
 */
const CHUNK_INTERVAL_MS = 5;

export interface WorkerOptions {
  config: WorkerConfig;
  runtime: Runtime;
  token: string;
  log: ConsolaInstance;
  /** socket.io-client's `io`, passed in so the worker module stays light to import. */
  connect: (url: string, options: Record<string, unknown>) => Socket;
  version: string;
  heartbeatMs?: number;
  healthPollMs?: number;
  drainTimeoutMs?: number;
  /** Names the cause of a failed connection (DNS, refused, TLS...); lib/io/orchestrator-probe.ts. */
  diagnose?: (orchestratorUrl: string) => Promise<ConnectionFailure | undefined>;
}

export interface WorkerState {
  connected: boolean;
  available: boolean;
  draining: boolean;
  active: number;
  completed: number;
  failed: number;
}

export class Worker {
  readonly state: WorkerState = { connected: false, available: true, draining: false, active: 0, completed: 0, failed: 0 };
  private socket: Socket | undefined;
  private readonly jobs = new Map<string, AbortController>();
  private readonly activeByModel = new Map<string, number>();
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private refusal: ((error: BasisError) => void) | undefined;
  /** Consecutive server-side disconnects without a welcome in between: the backoff exponent. */
  private serverDisconnects = 0;
  /** Failed connection attempts since the last welcome. */
  private connectFailures = 0;
  private diagnosing = false;

  constructor(private readonly options: WorkerOptions) {}

  /** Connects and serves until stopped. Rejects only when the orchestrator refuses the handshake. */
  start(): Promise<void> {
    const { config, log } = this.options;
    const base: Omit<Handshake, "proof"> = {
      protocol: PROTOCOL_VERSION,
      worker_id: config.workerId,
      worker_wallet: config.wallet,
      runtime: config.runtime,
      models: config.models,
      concurrency: config.concurrency,
      version: this.options.version,
    };
    const targets = socketTargets(config.orchestratorUrl);
    const target = targets[0] as SocketTarget;
    // The token never crosses the wire: each connection proves it over its own engine id.
    const auth = handshakeAuth(base, this.options.token, () => this.socket?.io.engine?.id);
    const socket = this.options.connect(target.uri, {
      path: target.path,
      auth,
      transports: ["websocket"],
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 30_000,
      randomizationFactor: 0.5,
      timeout: 10_000,
    });
    this.socket = socket;
    if (targets.length > 1) {
      // Several instances of one cluster: each reconnection attempt dials the next, so a worker
      // whose orchestrator died is back on another within one backoff step.
      socket.io.on("reconnect_attempt", (attempt: number) => {
        const next = targets[attempt % targets.length] as SocketTarget;
        (socket.io as unknown as { uri: string }).uri = next.uri;
        socket.io.opts.path = next.path;
      });
    }
    log.info(`connecting to ${config.orchestratorUrl.split(",").map(describeUrl).join(" or ")} as ${config.workerId} (wallet ${config.wallet}, runtime ${config.runtime})`);

    socket.on(EVENTS.welcome, (payload: unknown) => {
      const welcome = parsePayload(WelcomeSchema, payload);
      if (!welcome) return;
      this.state.connected = true;
      log.success(`connected: worker ${welcome.worker_id} online${welcome.dev_mode ? " (orchestrator in DEV mode)" : ""}`);
      this.sendStatus();
    });
    socket.on("disconnect", (reason) => {
      this.state.connected = false;
      if (this.state.draining) return;
      log.warn(`disconnected (${reason}); reconnecting with backoff`);
      // Socket.io reconnects by itself after a network loss, but not when the server closed the
      // session (an orchestrator restarting, or replacing this session): then we must ask.
      if (reason === "io server disconnect") this.scheduleReconnect();
    });
    socket.on(EVENTS.welcome, () => {
      this.serverDisconnects = 0;
      this.connectFailures = 0;
    });
    // The instance being dialed now (with several, each attempt dials the next), as a URL.
    const dialing = () => {
      const manager = socket.io as unknown as { uri: string; opts: { path?: string } };
      return `${manager.uri}${(manager.opts.path ?? "/socket.io/").replace(/\/?socket\.io\/?$/, "")}`;
    };
    socket.on("connect_error", (error: Error) => {
      const where = describeUrl(dialing());
      // A middleware refusal makes the socket inactive: retrying with the same credentials is
      // pointless, so the refusal ends `start` (exit 3) with the orchestrator's reason.
      if (!socket.active) {
        const { cause } = describeRefusal(error.message);
        const refused = new BasisError("handshake_refused", `The orchestrator at ${where} refused this worker: ${cause.replace(/^refused by the orchestrator /, "")}.`, {
          exitCode: 3,
          hint: "Check BASIS_WORKER_TOKEN / BASIS_WORKER_AUTH_KEY (from the orchestrator's operator) match the orchestrator, and that this worker id belongs to this wallet.",
          details: { url: where, reason: cause },
        });
        this.stopTimers();
        this.refusal?.(refused);
        return;
      }
      this.connectFailures++;
      void this.reportConnectFailure(dialing(), error);
    });
    socket.on(EVENTS.assign, (payload: unknown, ack?: (answer: JobAck) => void) => {
      if (typeof ack !== "function") return;
      this.accept(payload, ack);
    });
    socket.on(EVENTS.cancel, (payload: unknown) => {
      const cancel = parsePayload(JobCancelSchema, payload);
      if (cancel) this.jobs.get(cancel.job_id)?.abort(new BasisError("job_cancelled", `Cancelled: ${cancel.reason}.`));
    });

    this.timers.push(setInterval(() => this.logHeartbeat(), this.options.heartbeatMs ?? WORKER_ENV.BASIS_HEARTBEAT_MS.fallback));
    this.timers.push(setInterval(() => void this.pollHealth(), this.options.healthPollMs ?? WORKER_ENV.BASIS_HEALTH_POLL_MS.fallback));
    return new Promise((_, reject) => {
      this.refusal = reject;
    });
  }

  private accept(payload: unknown, ack: (answer: JobAck) => void): void {
    const job = parsePayload(JobAssignSchema, payload);
    if (!job) return ack({ accepted: false, reason: "invalid" });
    if (this.state.draining) return ack({ accepted: false, reason: "draining" });
    if (!this.state.available) return ack({ accepted: false, reason: "unavailable" });
    if (!this.options.config.models.includes(job.request.model)) return ack({ accepted: false, reason: "unknown_model" });
    const param = unhonouredParam(this.options.runtime.name, job.request);
    if (param !== undefined) return ack({ accepted: false, reason: "unsupported", param });
    if (this.state.active >= this.options.config.concurrency) return ack({ accepted: false, reason: "over_capacity" });
    const modelLimit = this.options.config.modelConcurrency[job.request.model];
    if (modelLimit !== undefined && (this.activeByModel.get(job.request.model) ?? 0) >= modelLimit) {
      return ack({ accepted: false, reason: "over_capacity" });
    }
    ack({ accepted: true });
    void this.runJob(job);
  }

  private async runJob(job: JobAssign): Promise<void> {
    const socket = this.socket as Socket;
    const controller = new AbortController();
    // The orchestrator's deadline is authoritative (it answers 504 and cancels); ours, a little
    // later, only guards against a lost cancel.
    const deadline = setTimeout(
      () => controller.abort(new BasisError("job_timeout", "The job ran past its deadline.")),
      job.timeout_ms + DEADLINE_GRACE_MS,
    );
    this.jobs.set(job.job_id, controller);
    this.state.active++;
    const model = job.request.model;
    this.activeByModel.set(model, (this.activeByModel.get(model) ?? 0) + 1);
    const started = performance.now();
    // Deltas that arrive in the same tick travel as one event.
    let pending: OutputDelta = {};
    let firstTokenMs: number | undefined;
    let flushScheduled = false;
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    let lastFlush = Number.NEGATIVE_INFINITY;
    let firstTokenSent = false;
    const flush = () => {
      flushScheduled = false;
      clearTimeout(flushTimer);
      lastFlush = performance.now();
      if (!isEmptyDelta(pending)) {
        const { content, ...rest } = pending;
        socket.emit(EVENTS.chunk, { job_id: job.job_id, delta: content ?? "", ...rest });
      }
      pending = {};
    };
    try {
      const request = { ...job.request, model: this.options.runtime.backendModel(job.request.model) };
      const result = await this.options.runtime.run(request, {
        signal: controller.signal,
        onDelta: (delta) => {
          firstTokenMs ??= Math.round(performance.now() - started);
          if (!job.stream) {
            // The orchestrator cancels a job that shows no first token in time (docs/PROTOCOL.md).
            if (!firstTokenSent) socket.emit(EVENTS.started, { job_id: job.job_id });
            firstTokenSent = true;
            return;
          }
          mergeDelta(pending, delta);
          if (!flushScheduled) {
            flushScheduled = true;
            // A macrotask, not a microtask: a backend's tokens parsed from one read all land
            // before it runs, so they travel as one event instead of one event per token; and
            // no sooner than CHUNK_INTERVAL_MS after the last event.
            const wait = lastFlush + CHUNK_INTERVAL_MS - performance.now();
            if (wait > 0) flushTimer = setTimeout(flush, Math.ceil(wait));
            else setImmediate(flush);
          }
        },
      });
      flush();
      const elapsed = Math.round(performance.now() - started);
      socket.emit(EVENTS.done, { job_id: job.job_id, ...result, elapsed_ms: elapsed, ...(firstTokenMs !== undefined ? { first_token_ms: firstTokenMs } : {}) });
      this.state.completed++;
      this.options.log.info(
        `job ${job.job_id} done: model ${model}, ${result.usage.prompt_tokens} prompt + ${result.usage.completion_tokens} output tokens, ${elapsed} ms, ${result.finish_reason}`,
      );
    } catch (error) {
      flush();
      const reason = controller.signal.aborted ? controller.signal.reason : error;
      const code = reason instanceof BasisError ? reason.code : "worker_error";
      const message = reason instanceof Error ? reason.message : "The job failed.";
      socket.emit(EVENTS.fail, { job_id: job.job_id, code, message: message.slice(0, 1000) });
      this.state.failed++;
      this.options.log.warn(`job ${job.job_id} failed: model ${model}, ${Math.round(performance.now() - started)} ms, ${code}`);
    } finally {
      clearTimeout(deadline);
      this.jobs.delete(job.job_id);
      this.state.active--;
      this.activeByModel.set(model, (this.activeByModel.get(model) ?? 1) - 1);
    }
  }

  /** One line per failed attempt, naming the URL and the cause; one probe at a time. */
  private async reportConnectFailure(url: string, error: Error): Promise<void> {
    const attempt = this.connectFailures;
    const { log, diagnose } = this.options;
    const where = describeUrl(url);
    let cause = error.message === "timeout" ? "timed out: nothing answered the handshake in time" : undefined;
    if (!cause && diagnose) {
      // One probe at a time; the attempts it overlaps are reported by it.
      if (this.diagnosing) return;
      this.diagnosing = true;
      cause = await diagnose(url).then((failure) => failure?.cause).catch(() => undefined).finally(() => {
        this.diagnosing = false;
      });
    }
    if (this.state.connected || this.state.draining) return;
    log.warn(`cannot reach the orchestrator at ${where}: ${cause ?? error.message.slice(0, 80)}; retrying with backoff (attempt ${attempt})`);
  }

  private scheduleReconnect(): void {
    const attempt = this.serverDisconnects++;
    const base = Math.min(30_000, 500 * 2 ** attempt);
    const delay = base * (0.5 + Math.random());
    const timer = setTimeout(() => {
      this.timers.splice(this.timers.indexOf(timer), 1);
      if (!this.state.draining && !this.state.connected) this.socket?.connect();
    }, delay);
    this.timers.push(timer);
  }

  private sendStatus(reason?: string): void {
    this.socket?.emit(EVENTS.status, {
      available: this.state.available,
      draining: this.state.draining,
      active: this.state.active,
      ...(reason ? { reason } : {}),
    });
  }

  private async pollHealth(): Promise<void> {
    const healthy = await this.options.runtime.healthy();
    if (healthy === this.state.available) return;
    this.state.available = healthy;
    if (healthy) this.options.log.success(`${this.options.runtime.name} backend is back; taking jobs again`);
    else this.options.log.warn(`${this.options.runtime.name} backend is down; told the orchestrator not to route jobs here`);
    this.sendStatus(healthy ? undefined : "backend_down");
  }

  heartbeatLine(): string {
    const s = this.state;
    const load = s.active > 0 ? `busy ${s.active}/${this.options.config.concurrency}` : "idle";
    const backend = s.available ? "" : `, ${this.options.runtime.name} backend DOWN`;
    return `heartbeat: ${s.connected ? "connected" : "disconnected"}, worker ${this.options.config.workerId}, ${load}, ${s.completed} jobs completed${backend}`;
  }

  private logHeartbeat(): void {
    this.options.log.info(this.heartbeatLine());
  }

  private stopTimers(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
  }

  /** Stop taking jobs, let in-flight jobs finish (bounded), then disconnect cleanly. */
  async drain(): Promise<{ unfinished: number }> {
    this.state.draining = true;
    this.sendStatus("draining");
    const limit = Date.now() + (this.options.drainTimeoutMs ?? WORKER_ENV.BASIS_DRAIN_TIMEOUT_MS.fallback);
    if (this.state.active > 0) this.options.log.info(`draining: waiting for ${this.state.active} job(s) to finish`);
    while (this.state.active > 0 && Date.now() < limit) await new Promise((r) => setTimeout(r, 25));
    const unfinished = this.state.active;
    for (const controller of this.jobs.values()) controller.abort(new BasisError("job_cancelled", "The worker is stopping."));
    if (unfinished > 0) await new Promise((r) => setTimeout(r, 50));
    this.stopTimers();
    this.socket?.disconnect();
    this.state.connected = false;
    return { unfinished };
  }
}

