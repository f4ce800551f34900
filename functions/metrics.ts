import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { metrics as defs } from "../common/definitions.ts";
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
  if (result.kind === "retry") return;
  if (result.kind === "parked" && result.hold.kind === "quota" && result.hold.hit)
    metrics.addMetric(names.quotaExhausted, MetricUnit.Count, 1);
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

/** A follower sync paused because user/get's daily quota ran out (45009): the same alarm as a send's. */
export function countSyncQuotaExhausted(): void {
  metrics.addMetric(names.quotaExhausted, MetricUnit.Count, 1);
}

/** Counts a refresh that failed, or a chunk left waiting because no access token could be had. */
export function countTokenRefreshFailure(): void {
  metrics.addMetric(names.tokenRefreshFailures, MetricUnit.Count, 1);
}

/** Counts one stable_token fetch of the refresher. */
export function countTokenRefresh(): void {
  metrics.addMetric(names.tokenRefreshes, MetricUnit.Count, 1);
}

/** Counts tokens this container reported refused since the last call (SharedToken.rejections). */
let lastRejections = 0;
export function countTokenRejections(rejections: number): void {
  if (rejections > lastRejections)
    metrics.addMetric(names.tokenRejections, MetricUnit.Count, rejections - lastRejections);
  lastRejections = rejections;
}

/** External mode: the pushed token is missing, refused or about to expire. */
export function countTokenStale(): void {
  metrics.addMetric(names.tokenStale, MetricUnit.Count, 1);
}

/** A payment notify answered 5xx. */
export function countNotifyFailure(): void {
  metrics.addMetric(names.notifyFailures, MetricUnit.Count, 1);
}

/** Writes the buffered metrics (one EMF line); call once per invocation. */
export function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
