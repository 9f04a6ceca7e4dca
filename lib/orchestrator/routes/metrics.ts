/** `GET /metrics`: Prometheus text for the operator, behind a bearer token when one is set (server.ts). */
import type { Handler } from "../http.ts";
import type { GatewayMetrics } from "../metrics.ts";

export function metricsRoute(metrics: GatewayMetrics): Handler {
  return async () => {
    return new Response(await metrics.text(), { headers: { "content-type": metrics.registry.contentType, "cache-control": "no-store" } });
  };
}
