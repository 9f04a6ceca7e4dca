/**
 * The load generator, run in its own process so its CPU is not the orchestrator's: it runs a
 * plan of phases against HTTP targets and prints raw samples as one JSON line on stdout.
 *   closed: `concurrency` clients, each sending its next request when the last one answered;
 *   open:   requests scheduled by the wall clock at `rate`/s whatever the answers do, latency
 *           counted from the scheduled time (a late send is the server's latency, not hidden);
 *   stream: one streamed request at a time: time to first token, total time, tokens.
 * Usage: bun bench/load-gen.ts <plan.json>
 */
import { readSse, SSE_DONE } from "../lib/core/sse.ts";

export interface LoadTarget {
  url: string;
  headers: Record<string, string>;
  /** The JSON body, already serialized: the same bytes go out on every request. */
  body: string;
}

export type LoadPhase =
  | { kind: "closed"; label: string; target: LoadTarget; concurrency: number; count?: number; durationMs?: number }
  | { kind: "open"; label: string; target: LoadTarget; rate: number; count: number }
  | { kind: "stream"; label: string; target: LoadTarget; count: number };

export interface PhaseResult {
  label: string;
  ok: number;
  errors: number;
  errorSample?: string;
  elapsedMs: number;
  /** Milliseconds per request (closed, open). */
  latencies: number[];
  /** open: how late the generator itself sent, at worst. */
  maxSendLagMs?: number;
  /** stream: time to first content token, total time, tokens and characters per request. */
  ttft?: number[];
  totals?: number[];
  tokens?: number[];
  chars?: number[];
}

class Tally {
  ok = 0;
  errors = 0;
  errorSample: string | undefined;
  readonly latencies: number[] = [];

  fail(message: string): void {
    this.errors++;
    this.errorSample ??= message.slice(0, 300);
  }
}

async function sendOnce(target: LoadTarget): Promise<string | undefined> {
  try {
    const response = await fetch(target.url, { method: "POST", headers: target.headers, body: target.body });
    const text = await response.text();
    return response.ok ? undefined : `HTTP ${response.status}: ${text}`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

async function runClosed(phase: Extract<LoadPhase, { kind: "closed" }>, tally: Tally): Promise<void> {
  const deadline = phase.durationMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + phase.durationMs;
  let left = phase.count ?? Number.POSITIVE_INFINITY;
  const client = async () => {
    while (left > 0 && performance.now() < deadline) {
      left--;
      const started = performance.now();
      const failure = await sendOnce(phase.target);
      if (failure) tally.fail(failure);
      else {
        tally.ok++;
        tally.latencies.push(performance.now() - started);
      }
    }
  };
  await Promise.all(Array.from({ length: phase.concurrency }, client));
}

async function runOpen(phase: Extract<LoadPhase, { kind: "open" }>, tally: Tally): Promise<number> {
  const interval = 1000 / phase.rate;
  const start = performance.now() + 20;
  const inflight: Promise<void>[] = [];
  let maxLag = 0;
  const fire = (scheduled: number) => {
    inflight.push(
      sendOnce(phase.target).then((failure) => {
        if (failure) tally.fail(failure);
        else {
          tally.ok++;
          tally.latencies.push(performance.now() - scheduled);
        }
      }),
    );
  };
  for (let i = 0; i < phase.count; ) {
    const now = performance.now();
    // Send every request whose time has come, even if the timer woke up late.
    while (i < phase.count && start + i * interval <= now) {
      maxLag = Math.max(maxLag, now - (start + i * interval));
      fire(start + i * interval);
      i++;
    }
    if (i < phase.count) await Bun.sleep(Math.max(0, start + i * interval - performance.now()));
  }
  await Promise.all(inflight);
  return maxLag;
}

async function runStream(phase: Extract<LoadPhase, { kind: "stream" }>, tally: Tally, out: Required<Pick<PhaseResult, "ttft" | "totals" | "tokens" | "chars">>): Promise<void> {
  for (let k = 0; k < phase.count; k++) {
    const started = performance.now();
    try {
      const response = await fetch(phase.target.url, { method: "POST", headers: phase.target.headers, body: phase.target.body });
      if (!response.ok || !response.body) {
        tally.fail(`HTTP ${response.status}: ${await response.text()}`);
        continue;
      }
      let first: number | undefined;
      let chars = 0;
      let contentEvents = 0;
      let usageTokens: number | undefined;
      let failure: string | undefined;
      for await (const event of readSse(response.body)) {
        if (event.data === SSE_DONE) break;
        const chunk = JSON.parse(event.data) as { choices?: { delta?: { content?: string } }[]; usage?: { completion_tokens?: number }; error?: unknown };
        if (chunk.error) failure = JSON.stringify(chunk.error);
        const content = chunk.choices?.[0]?.delta?.content;
        if (content) {
          first ??= performance.now();
          chars += content.length;
          contentEvents++;
        }
        if (typeof chunk.usage?.completion_tokens === "number") usageTokens = chunk.usage.completion_tokens;
      }
      const ended = performance.now();
      if (failure || first === undefined) {
        tally.fail(failure ?? "no content in the stream");
        continue;
      }
      tally.ok++;
      out.ttft.push(first - started);
      out.totals.push(ended - started);
      out.tokens.push(usageTokens ?? contentEvents);
      out.chars.push(chars);
    } catch (error) {
      tally.fail(error instanceof Error ? error.message : String(error));
    }
  }
}

export async function runPhase(phase: LoadPhase): Promise<PhaseResult> {
  const tally = new Tally();
  const started = performance.now();
  const stream = { ttft: [] as number[], totals: [] as number[], tokens: [] as number[], chars: [] as number[] };
  let maxSendLagMs: number | undefined;
  if (phase.kind === "closed") await runClosed(phase, tally);
  else if (phase.kind === "open") maxSendLagMs = await runOpen(phase, tally);
  else await runStream(phase, tally, stream);
  return {
    label: phase.label,
    ok: tally.ok,
    errors: tally.errors,
    ...(tally.errorSample ? { errorSample: tally.errorSample } : {}),
    elapsedMs: performance.now() - started,
    latencies: tally.latencies,
    ...(maxSendLagMs === undefined ? {} : { maxSendLagMs }),
    ...(phase.kind === "stream" ? stream : {}),
  };
}

if (import.meta.main) {
  const planPath = process.argv[2];
  if (!planPath) throw new Error("usage: bun bench/load-gen.ts <plan.json>");
  const plan = (await Bun.file(planPath).json()) as LoadPhase[];
  const results: PhaseResult[] = [];
  for (const phase of plan) results.push(await runPhase(phase));
  process.stdout.write(`${JSON.stringify(results)}\n`);
}
