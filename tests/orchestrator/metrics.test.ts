/** `GET /metrics`: Prometheus text, parsed here, behind its bearer token. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { type Orchestrator, startOrchestrator } from "../../lib/orchestrator/server.ts";
import { quietLog, startTestWorker, waitUntil } from "../helpers/harness.ts";

const METRICS_TOKEN = "metrics-test-token";
let orchestrator: Orchestrator;
let stop: () => Promise<void>;

/** Prometheus text exposition: `name{labels} value` lines, comments skipped. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    samples.set(`${match[1]}${match[2] ?? ""}`, Number(match[3]));
  }
  return samples;
}

const sample = (samples: Map<string, number>, name: string, labels: Record<string, string> = {}) => {
  for (const [key, value] of samples) {
    if (!key.startsWith(`${name}{`) && key !== name) continue;
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) return value;
  }
  return undefined;
};

beforeAll(async () => {
  orchestrator = await startOrchestrator({ host: "127.0.0.1", port: 0, log: quietLog, policy: {}, metricsToken: METRICS_TOKEN });
  ({ stop } = await startTestWorker(orchestrator));
  await waitUntil("worker online", () => orchestrator.registry.size === 1);
});

afterAll(async () => {
  await stop();
  await orchestrator.close();
});

describe("GET /metrics", () => {
  test("refuses a scrape without the token", async () => {
    expect((await fetch(`${orchestrator.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${orchestrator.url}/metrics`, { headers: { authorization: "Bearer nope" } })).status).toBe(401);
  });

  test("counts workers, jobs by outcome, tokens, refusals and the GenAI histograms", async () => {
    const client = new OpenAI({ baseURL: `${orchestrator.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const whole = await client.chat.completions.create({ model: "basis-default", messages: [{ role: "user", content: "one two three" }] });
    let streamed = 0;
    const stream = await client.chat.completions.create({ model: "basis-default", messages: [{ role: "user", content: "four" }], stream: true, stream_options: { include_usage: true } });
    for await (const chunk of stream) streamed = chunk.usage?.completion_tokens ?? streamed;
    await client.chat.completions.create({ model: "basis-large", messages: [{ role: "user", content: "x" }] }).catch(() => undefined);

    const res = await fetch(`${orchestrator.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const samples = parsePrometheus(await res.text());
    expect(sample(samples, "basis_workers_online")).toBe(1);
    expect(sample(samples, "basis_jobs_total", { model: "basis-default", outcome: "completed" })).toBe(2);
    expect(sample(samples, "basis_tokens_total", { model: "basis-default", type: "output" })).toBe(whole.usage!.completion_tokens + streamed);
    expect(sample(samples, "basis_dispatches_refused_total")).toBe(1);
    const genAi = { gen_ai_request_model: "basis-default" };
    expect(sample(samples, "gen_ai_server_request_duration_seconds_count", genAi)).toBe(2);
    expect(sample(samples, "gen_ai_server_time_to_first_token_seconds_count", genAi)).toBe(2);
    expect(sample(samples, "gen_ai_server_time_per_output_token_seconds_count", genAi)).toBe(2);
    expect(sample(samples, "gen_ai_client_token_usage_sum", { ...genAi, gen_ai_token_type: "output" })).toBe(whole.usage!.completion_tokens + streamed);
  });
});
