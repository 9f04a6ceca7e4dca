/**
 * A worker behind a reverse proxy that serves the orchestrator under a path prefix: the path in
 * BASIS_ORCHESTRATOR_URL must become the engine path, not a Socket.io namespace. The proxy here
 * is a plain TCP relay that strips the prefix from the request line, as nginx's
 * `location /basis/ { proxy_pass http://orchestrator/; }` does.
 */
import { afterAll, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import type { Orchestrator } from "../../lib/orchestrator/server.ts";
import { dispatch, startTestOrchestrator, startTestWorker, waitUntil } from "../helpers/harness.ts";

const PREFIX = "/basis";
let orchestrator: Orchestrator | undefined;
let proxy: TCPSocketListener<{ upstream?: Socket; pending: Uint8Array[]; rewritten: boolean }> | undefined;
const stops: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const stop of stops) await stop();
  proxy?.stop(true);
  await orchestrator?.close();
});

function startPrefixProxy(target: number): number {
  proxy = Bun.listen<{ upstream?: Socket; pending: Uint8Array[]; rewritten: boolean }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        client.data = { pending: [], rewritten: false };
        void Bun.connect({
          hostname: "127.0.0.1",
          port: target,
          socket: {
            data(_upstream, chunk) {
              client.write(chunk);
            },
            close() {
              client.end();
            },
          },
        }).then((upstream) => {
          client.data.upstream = upstream;
          for (const chunk of client.data.pending.splice(0)) upstream.write(chunk);
        });
      },
      data(client, chunk) {
        let bytes: Uint8Array = chunk;
        if (!client.data.rewritten) {
          client.data.rewritten = true;
          const text = new TextDecoder().decode(chunk);
          // Only requests under the prefix are forwarded, with the prefix removed.
          if (!/^[A-Z]+ \/basis\//.test(text)) return void client.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
          bytes = new TextEncoder().encode(text.replace(` ${PREFIX}/`, " /"));
        }
        if (client.data.upstream) client.data.upstream.write(bytes);
        else client.data.pending.push(bytes);
      },
      close(client) {
        client.data.upstream?.end();
      },
    },
  });
  return proxy.port;
}

test("a worker reaches an orchestrator served under a reverse-proxy path prefix", async () => {
  orchestrator = await startTestOrchestrator();
  const port = startPrefixProxy(orchestrator.port);
  const { worker, stop } = await startTestWorker(orchestrator, { BASIS_ORCHESTRATOR_URL: `ws://127.0.0.1:${port}${PREFIX}` });
  stops.push(stop);
  await waitUntil("connected through the proxy", () => worker.state.connected, 10_000);
  const res = await dispatch(orchestrator, { model: "basis-default", messages: [{ role: "user", content: "via proxy" }] });
  expect(res.status).toBe(200);
  expect(worker.state.completed).toBe(1);
}, 20_000);
