/** `GET /metrics`: Prometheus text for the operator, behind a bearer token when one is set. */
import { type Handler, requireBearer } from "../http.ts";
import type { GatewayMetrics } from "../metrics.ts";

export function metricsRoute(metrics: GatewayMetrics, token: string | undefined): Handler {
  return async ({ request }) => {
    requireBearer(request, token);
    return new Response(await metrics.text(), { headers: { "content-type": metrics.registry.contentType, "cache-control": "no-store" } });
  };
}
