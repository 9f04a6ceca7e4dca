/** One raw HTTP/1.1 exchange over TCP, for requests no HTTP client would send. */

export interface RawAnswer {
  /** The first response's status; undefined when the server closed without answering. */
  status: number | undefined;
  /** The first response, head and body, as text. */
  text: string;
  /** The server closed the connection (by itself, before we gave up waiting). */
  closedByServer: boolean;
  /** Milliseconds from the first byte sent to the end of the first response (or the close). */
  answeredMs: number;
  /** Milliseconds from the first byte sent to the server's close, when it closed. */
  closedMs: number | undefined;
}

interface Parsed {
  status: number;
  end: number;
}

/** Where the first response ends in `buffer`, once it is whole. */
function parseResponse(buffer: Buffer, head: boolean): Parsed | undefined {
  const headEnd = buffer.indexOf("\r\n\r\n");
  if (headEnd < 0) return undefined;
  const headText = buffer.subarray(0, headEnd).toString("latin1");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(headText)?.[1]);
  const bodyStart = headEnd + 4;
  if (head || status === 204 || status === 304) return { status, end: bodyStart };
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(headText)?.[1];
  if (length !== undefined) return buffer.length >= bodyStart + Number(length) ? { status, end: bodyStart + Number(length) } : undefined;
  if (/\r\ntransfer-encoding:\s*chunked/i.test(headText)) {
    const last = buffer.indexOf("\r\n0\r\n\r\n", bodyStart - 2);
    return last >= 0 ? { status, end: last + 7 } : undefined;
  }
  return undefined; // read to close
}

/**
 * Sends `bytes`, reads the first response, then waits up to `closeWaitMs` for the server to
 * close; gives up (and closes itself) after `limitMs` in all.
 */
export function exchange(port: number, bytes: Uint8Array, options: { closeWaitMs: number; limitMs: number }): Promise<RawAnswer> {
  const started = performance.now();
  const head = new TextDecoder().decode(bytes.subarray(0, 5)) === "HEAD ";
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    let parsed: Parsed | undefined;
    let answeredMs: number | undefined;
    let finished = false;
    let pending = bytes;
    let closeTimer: ReturnType<typeof setTimeout> | undefined;
    const finish = (closedByServer: boolean, socket?: { end(): void }) => {
      if (finished) return;
      finished = true;
      clearTimeout(limit);
      clearTimeout(closeTimer);
      const now = performance.now() - started;
      const text = buffer.subarray(0, parsed?.end ?? buffer.length).toString("utf8");
      const status = parsed?.status ?? (Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1]) || undefined);
      resolve({ status, text, closedByServer, answeredMs: answeredMs ?? now, closedMs: closedByServer ? now : undefined });
      socket?.end();
    };
    let socketRef: { end(): void } | undefined;
    const limit = setTimeout(() => finish(false, socketRef), options.limitMs);
    const flush = (socket: { write(data: Uint8Array): number }) => {
      while (pending.length > 0) {
        const written = socket.write(pending);
        if (written <= 0) return;
        pending = pending.subarray(written);
      }
    };
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(socket) {
          socketRef = socket;
          flush(socket);
        },
        drain(socket) {
          flush(socket);
        },
        data(socket, data) {
          buffer = Buffer.concat([buffer, data]);
          if (parsed) return;
          parsed = parseResponse(buffer, head);
          if (parsed) {
            answeredMs = performance.now() - started;
            closeTimer = setTimeout(() => finish(false, socket), options.closeWaitMs);
          }
        },
        close() {
          finish(true);
        },
        error() {
          finish(true);
        },
      },
    }).catch(() => finish(true));
  });
}
