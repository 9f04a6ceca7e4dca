import { afterEach, describe, expect, test } from "bun:test";
import { NETWORK_DEFAULT_ASK, PRICE_RAILS } from "../../../lib/core/price-rails.ts";
import type { Orchestrator } from "../../../lib/orchestrator/server.ts";
import { WALLET, waitUntil } from "../../helpers/harness.ts";
import { call, connectWorker, startApi } from "../_helpers.ts";

let api: Orchestrator | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

describe("marketRoute", () => {
  test("serves no offers and the network default ask as strings, even with a worker online", async () => {
    api = await startApi();
    const { socket } = await connectWorker(api, "gpu-1", WALLET);
    await waitUntil("the session", () => api!.registry.get("gpu-1") !== undefined);
    const answer = await call(api, "GET", "/api/workers/market");
    socket.close();
    expect(answer.status).toBe(200);
    expect(answer.body.offers).toEqual([]);
    expect(answer.body.networkDefault).toMatchObject({ prompt_credits_per_1m: "460000000", output_credits_per_1m: "1840000000" });
    expect(answer.body.networkDefault.min_job_credits).toBe(NETWORK_DEFAULT_ASK.min_job_credits);
    expect(answer.body.rails.price_max).toBe(PRICE_RAILS.priceMax.toString());
    expect(answer.text).not.toContain("gpu-1");
  });
});
