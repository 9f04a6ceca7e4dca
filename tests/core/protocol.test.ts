import { describe, expect, test } from "bun:test";
import { HandshakeSchema, JobAssignSchema, JobDoneSchema, PROTOCOL_VERSION, parsePayload } from "../../lib/core/protocol.ts";

const handshake = {
  protocol: PROTOCOL_VERSION,
  proof: "a".repeat(64),
  worker_id: "gpu-1",
  worker_wallet: "0x52908400098527886e0f7030069857d2e4169ee7",
  runtime: "echo",
  models: ["basis-default"],
  concurrency: 2,
} as const;

describe("HandshakeSchema", () => {
  test("accepts a well-formed handshake", () => expect(parsePayload(HandshakeSchema, handshake) as unknown).toEqual(handshake));
  const bad: [string, Record<string, unknown>][] = [
    ["another protocol version", { protocol: 99 }],
    ["a malformed wallet", { worker_wallet: "0x12" }],
    ["an unknown runtime", { runtime: "tgi" }],
    ["no models", { models: [] }],
    ["zero concurrency", { concurrency: 0 }],
    ["a worker id with spaces", { worker_id: "a b" }],
  ];
  for (const [name, change] of bad) test(`refuses ${name}`, () => expect(parsePayload(HandshakeSchema, { ...handshake, ...change })).toBeUndefined());
});

describe("JobAssignSchema", () => {
  const job = { job_id: "job_1", request: { model: "m", messages: [{ role: "user", content: "hi" }] }, timeout_ms: 1000 };
  test("accepts a job, streaming by default", () => expect(parsePayload(JobAssignSchema, job) as unknown).toEqual({ ...job, stream: true }));
  test("refuses a job with no messages", () =>
    expect(parsePayload(JobAssignSchema, { ...job, request: { model: "m", messages: [] } })).toBeUndefined());
  test("refuses an unknown role", () =>
    expect(parsePayload(JobAssignSchema, { ...job, request: { model: "m", messages: [{ role: "root", content: "x" }] } })).toBeUndefined());
});

describe("JobDoneSchema", () => {
  test("refuses negative token counts", () =>
    expect(
      parsePayload(JobDoneSchema, { job_id: "j", text: "", finish_reason: "stop", usage: { prompt_tokens: -1, completion_tokens: 0 }, elapsed_ms: 1 }),
    ).toBeUndefined());
});
