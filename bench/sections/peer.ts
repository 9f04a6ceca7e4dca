/**
 * A peer in the same run: Portkey's open-source gateway (`@portkey-ai/gateway`, run under Bun,
 * one hop) in front of the same fake backend, measured with the same load generator as our two
 * hops (orchestrator + worker). Whole answers and streams, alternating rounds of direct, ours
 * and Portkey so drift hits all three alike. Added = that side minus direct, at p50 and p99.
 */
import { join, resolve } from "node:path";
import { type BenchContext, chatBody, directTarget, dispatchTarget, mergeLabel, type RunningFake, type RunningOrchestrator, runLoad } from "../cluster.ts";
import { FAKE_MODEL } from "../fake-openai.ts";
import type { LoadPhase, LoadTarget, PhaseResult } from "../load-gen.ts";
import type { BenchSizes } from "../sizes.ts";
import { round, type Summary, summarize } from "../stats.ts";

const PORTKEY_SERVER = resolve(import.meta.dir, "../../node_modules/@portkey-ai/gateway/build/start-server.js");
const ANSWER_TOKENS = 16;

export interface Added {
  p50: number;
  p99: number;
}

export interface PeerResult {
  peer: {
    portkey_version: string;
    portkey_added_ms: { whole: Added; stream: Added };
    ours_added_ms: { whole: Added; stream: Added };
    direct_ms: { whole: Summary; stream: Summary };
    errors: { direct: number; ours: number; portkey: number };
    error_sample?: string;
  };
}

async function freePort(): Promise<number> {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  const port = probe.port as number;
  await probe.stop(true);
  return port;
}

function portkeyTarget(port: number, fake: RunningFake, body: string): LoadTarget {
  return {
    url: `http://127.0.0.1:${port}/v1/chat/completions`,
    headers: { "content-type": "application/json", authorization: "Bearer bench", "x-portkey-provider": "openai", "x-portkey-custom-host": `${fake.url}/v1` },
    body,
  };
}

/** Starts Portkey and waits until it relays a request to the fake. */
async function startPortkey(ctx: BenchContext, fake: RunningFake): Promise<number> {
  const port = await freePort();
  const child = ctx.group.spawn("portkey", [process.execPath, PORTKEY_SERVER, "--headless", `--port=${port}`]);
  const target = portkeyTarget(port, fake, chatBody(FAKE_MODEL, 1, false));
  const until = Date.now() + 20_000;
  for (;;) {
    if (child.proc.exitCode !== null) throw new Error(`Portkey exited with code ${child.proc.exitCode}`);
    const ok = await fetch(target.url, { method: "POST", headers: target.headers, body: target.body })
      .then(async (res) => (await res.text(), res.ok))
      .catch(() => false);
    if (ok) return port;
    if (Date.now() > until) throw new Error("Portkey did not answer within 20 s");
    await Bun.sleep(100);
  }
}

function added(side: number[], direct: number[]): Added {
  const a = summarize(side);
  const d = summarize(direct);
  return { p50: round(a.p50 - d.p50), p99: round(a.p99 - d.p99) };
}

/** Whole answers: per-request latency; streams: time to the last byte. */
function samples(results: PhaseResult[], label: string): number[] {
  const merged = mergeLabel(results, label);
  return merged.latencies.length > 0 ? merged.latencies : results.filter((r) => r.label === label).flatMap((r) => r.totals ?? []);
}

export async function measurePeer(ctx: BenchContext, sizes: BenchSizes, orchestrator: RunningOrchestrator, fake: RunningFake): Promise<PeerResult> {
  const version = ((await Bun.file(join(PORTKEY_SERVER, "../../package.json")).json()) as { version: string }).version;
  const port = await startPortkey(ctx, fake);
  const whole = chatBody(FAKE_MODEL, ANSWER_TOKENS, false);
  const stream = chatBody(FAKE_MODEL, ANSWER_TOKENS, true);
  const sides = (body: string) => ({
    direct: directTarget(fake, body),
    ours: dispatchTarget(orchestrator, ctx.secrets, body),
    portkey: portkeyTarget(port, fake, body),
  });
  const w = sides(whole);
  const s = sides(stream);
  const warm = Math.max(10, Math.round(sizes.warmupRequests / 3));
  const plan: LoadPhase[] = (["direct", "ours", "portkey"] as const).flatMap((side) => [
    { kind: "closed" as const, label: "warmup", target: w[side], concurrency: 1, count: warm },
    { kind: "stream" as const, label: "warmup", target: s[side], count: Math.max(5, Math.round(warm / 4)) },
  ]);
  const perRound = Math.max(10, Math.round(sizes.latencyPerRound / 2));
  for (let k = 0; k < sizes.latencyRounds; k++) {
    for (const side of ["direct", "ours", "portkey"] as const) {
      plan.push({ kind: "closed", label: `whole-${side}`, target: w[side], concurrency: 1, count: perRound });
      plan.push({ kind: "stream", label: `stream-${side}`, target: s[side], count: Math.max(5, Math.round(perRound / 4)) });
    }
  }
  const results = await runLoad(ctx, plan);
  const errors = (side: string) => mergeLabel(results, `whole-${side}`).errors + mergeLabel(results, `stream-${side}`).errors;
  const sample = results.find((r) => r.errorSample && r.label !== "warmup")?.errorSample;
  const direct = { whole: samples(results, "whole-direct"), stream: samples(results, "stream-direct") };
  const addedFor = (side: string) => ({
    whole: added(samples(results, `whole-${side}`), direct.whole),
    stream: added(samples(results, `stream-${side}`), direct.stream),
  });
  return {
    peer: {
      portkey_version: version,
      portkey_added_ms: addedFor("portkey"),
      ours_added_ms: addedFor("ours"),
      direct_ms: { whole: summarize(direct.whole), stream: summarize(direct.stream) },
      errors: { direct: errors("direct"), ours: errors("ours"), portkey: errors("portkey") },
      ...(sample ? { error_sample: sample } : {}),
    },
  };
}
