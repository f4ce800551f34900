import { metrics, alarmThresholds as t } from "../common/definitions.ts";
import { functionName } from "./alarms.ts";
import type { FunctionKey, Functions } from "./functions.ts";
import type { QueueKey, QueuePair } from "./queues.ts";

/** One CloudWatch dashboard: throughput, failures by errcode, queue depth and age, token refreshes. */
export function createDashboard(input: {
  readonly queues: Record<QueueKey, QueuePair>;
  readonly functions: Functions;
}) {
  const region = aws.getRegionOutput().region;
  const ns = metrics.namespace;
  const svc = ["service", metrics.service] as const;
  /** The service's own metrics, one line each. */
  const own = (...names: (keyof typeof metrics.names)[]) => names.map((n) => [ns, metrics.names[n], ...svc]);
  const queueNames = (Object.values(input.queues) as QueuePair[]).map((q) => ({
    name: q.queue.nodes.queue.name,
    dlq: q.deadLetter.nodes.queue.name,
  }));
  const fnNames = (Object.entries(input.functions) as [FunctionKey, sst.aws.Function][]).map(([k, fn]) => ({
    key: k,
    name: functionName(fn),
  }));

  const body = $util
    .all([region, $util.output(queueNames), $util.output(fnNames)])
    .apply(([region, queues, fns]) => {
      const widget = (title: string, x: number, y: number, properties: Record<string, unknown>) => ({
        type: "metric",
        x,
        y,
        width: 12,
        height: 6,
        properties: { title, region, period: t.periodSeconds, view: "timeSeries", ...properties },
      });
      return JSON.stringify({
        widgets: [
          widget("Throughput: deliveries per period", 0, 0, {
            stat: "Sum",
            metrics: own("sent", "failed", "skipped"),
          }),
          widget("Failures by errcode", 12, 0, {
            stat: "Sum",
            metrics: [
              [
                {
                  expression: `SEARCH('{${ns},errcode,service} MetricName="${metrics.names.failedByErrcode}"', 'Sum', ${t.periodSeconds})`,
                  id: "byErrcode",
                },
              ],
            ],
          }),
          widget("Queue depth (visible messages)", 0, 6, {
            stat: "Maximum",
            metrics: queues.flatMap((q) => [
              ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.name],
              ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.dlq],
            ]),
          }),
          widget("Age of oldest message (s)", 12, 6, {
            stat: "Maximum",
            metrics: queues.map((q) => ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q.name]),
            annotations: { horizontal: [{ label: "stalled", value: t.sendQueueOldestMessageSeconds }] },
          }),
          widget("Token refreshes, refusals, failures, quota pauses", 0, 12, {
            stat: "Sum",
            metrics: own(
              "tokenRefreshes",
              "tokenRejections",
              "tokenRefreshFailures",
              "tokenStale",
              "quotaExhausted",
              "notifyFailures",
            ),
          }),
          widget("Function errors and throttles", 12, 12, {
            stat: "Sum",
            metrics: fns.flatMap((f) => [
              ["AWS/Lambda", "Errors", "FunctionName", f.name, { label: `${f.key} errors` }],
              ["AWS/Lambda", "Throttles", "FunctionName", f.name, { label: `${f.key} throttles` }],
            ]),
          }),
        ],
      });
    });

  return new aws.cloudwatch.Dashboard("Dashboard", {
    dashboardName: $util.interpolate`${$app.name}-${$app.stage}`,
    dashboardBody: body,
  });
}
