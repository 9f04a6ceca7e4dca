/** Small test helpers shared by the fake-backed tests. */

/** The server notices a client leaving a moment later; poll rather than guess a sleep. */
export async function waitForAborts(server: { readonly aborts: number }, expected: number): Promise<number> {
  for (let waited = 0; server.aborts < expected && waited < 1_000; waited += 10) await Bun.sleep(10);
  return server.aborts;
}

/** A URL where nothing listens: a server that was started and stopped. */
export async function startDeadUrl(): Promise<string> {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  const url = `http://127.0.0.1:${server.port}`;
  await server.stop(true);
  return url;
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function catchFailure(promise: Promise<unknown>): Promise<{ code?: string; message: string; hint?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string; hint?: string };
  }
  throw new Error("expected a failure, got a result");
}
