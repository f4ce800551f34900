import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { metrics as defs } from "../infra/definitions.ts";
import type { SendChunkResult } from "./core/send-chunk.ts";

/**
 * Custom metrics as CloudWatch Embedded Metric Format: JSON log lines that CloudWatch turns into
 * metrics, no API calls. Locally they are just log lines. Namespace and service come from
 * POWERTOOLS_METRICS_NAMESPACE / POWERTOOLS_SERVICE_NAME (set in infra) or the defaults the alarms use.
 * Emitted per chunk or per request, never per recipient.
 */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || defs.namespace,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME || defs.service,
});
const { names } = defs;

/** Counts one send-queue chunk's outcome: recipients sent/failed/skipped, errcodes, a quota pause. */
export function countChunk(result: SendChunkResult): void {
  if (result.kind === "retry") {
    if (result.reason === "quota") metrics.addMetric(names.quotaExhausted, MetricUnit.Count, 1);
    return;
  }
  const tally = result.tally;
  if (!tally) return;
  metrics.addMetric(names.sent, MetricUnit.Count, tally.sent);
  metrics.addMetric(names.failed, MetricUnit.Count, tally.failed);
  metrics.addMetric(names.skipped, MetricUnit.Count, tally.skipped);
  for (const [errcode, count] of Object.entries(tally.byErrcode)) {
    const single = metrics.singleMetric();
    single.addDimension("errcode", errcode);
    single.addMetric(names.failedByErrcode, MetricUnit.Count, count);
  }
}

/** Counts a chunk that failed because no access token could be had. */
export function countTokenRefreshFailure(): void {
  metrics.addMetric(names.tokenRefreshFailures, MetricUnit.Count, 1);
}

/** Counts WeChat access-token fetches since the last call (from TokenCache.fetches). */
let lastFetches = 0;
export function countTokenRefreshes(fetches: number): void {
  if (fetches > lastFetches) metrics.addMetric(names.tokenRefreshes, MetricUnit.Count, fetches - lastFetches);
  lastFetches = fetches;
}

/** A payment notify answered 5xx. */
export function countNotifyFailure(): void {
  metrics.addMetric(names.notifyFailures, MetricUnit.Count, 1);
}

/** Writes the buffered metrics (one EMF line); call once per invocation. */
export function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
