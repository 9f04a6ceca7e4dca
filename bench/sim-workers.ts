/**
 * Many lightweight simulated workers in one process: each is a real socket.io-client connection
 * doing the real handshake (lib/core/protocol.ts) with a valid wallet-bound token
 * (lib/core/token.ts), and it answers jobs with a fixed one-token reply.
 * Usage: BENCH_AUTH_KEY=... bun bench/sim-workers.ts <ws-url> <count> <model> <id-prefix>
 * Prints JSON lines on stdout: {"event":"start","at":<epoch ms>} when it begins connecting,
 * then {"event":"online","count":n,"ms":<since start>} once every connection was welcomed.
 */
import { io, type Socket } from "socket.io-client";
import { EVENTS, type Handshake, type JobAck, JobAssignSchema, PROTOCOL_VERSION, parsePayload } from "../lib/core/protocol.ts";
import { deriveWalletToken, handshakeAuth } from "../lib/core/token.ts";

export const SIM_REPLY = "pong";

function simWallet(index: number): `0x${string}` {
  return `0x${(0xb0000000 + index).toString(16).padStart(40, "0")}`;
}

function answerJobs(socket: Socket): void {
  socket.on(EVENTS.assign, (payload: unknown, ack?: (answer: JobAck) => void) => {
    const job = parsePayload(JobAssignSchema, payload);
    if (typeof ack !== "function") return;
    if (!job) return ack({ accepted: false, reason: "invalid" });
    ack({ accepted: true });
    socket.emit(EVENTS.chunk, { job_id: job.job_id, delta: SIM_REPLY });
    socket.emit(EVENTS.done, { job_id: job.job_id, text: SIM_REPLY, finish_reason: "stop", usage: { prompt_tokens: 1, completion_tokens: 1 }, elapsed_ms: 0 });
  });
}

function emitLine(value: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

async function main(): Promise<void> {
  const [url, countText, model, prefix] = process.argv.slice(2);
  const authKey = process.env.BENCH_AUTH_KEY;
  if (!url || !countText || !model || !prefix || !authKey) throw new Error("usage: BENCH_AUTH_KEY=... bun bench/sim-workers.ts <ws-url> <count> <model> <id-prefix>");
  const count = Number(countText);
  // Tokens first, so the timed part is only the connections.
  const handshakes: (Omit<Handshake, "proof"> & { token: string })[] = await Promise.all(
    Array.from({ length: count }, async (_, i) => ({
      protocol: PROTOCOL_VERSION,
      token: await deriveWalletToken(authKey, simWallet(i)),
      worker_id: `${prefix}-${i}`,
      worker_wallet: simWallet(i),
      runtime: "echo" as const,
      models: [model],
      concurrency: 4,
      version: "bench-sim",
    })),
  );
  const sockets: Socket[] = [];
  const started = performance.now();
  emitLine({ event: "start", at: Date.now() });
  let welcomed = 0;
  for (const { token, ...base } of handshakes) {
    // Like the worker: the token stays here, each connection sends a proof over its engine id.
    const socket: Socket = io(url, { auth: handshakeAuth(base, token, () => socket.io.engine?.id), transports: ["websocket"], forceNew: true, reconnection: false, timeout: 30_000 });
    socket.once(EVENTS.welcome, () => {
      welcomed++;
      if (welcomed === count) emitLine({ event: "online", count, ms: performance.now() - started });
    });
    socket.on("connect_error", (error: Error) => emitLine({ event: "error", worker_id: base.worker_id, message: error.message }));
    answerJobs(socket);
    sockets.push(socket);
  }
  process.on("SIGTERM", () => {
    for (const socket of sockets) socket.disconnect();
    process.exit(0);
  });
}

if (import.meta.main) await main();
