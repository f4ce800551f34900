import { metrics, alarmThresholds as t } from "../common/definitions.ts";
import type { FunctionKey, Functions } from "./functions.ts";
import type { QueueKey, QueuePair } from "./queues.ts";

export interface AlarmsInput {
  readonly queues: Record<QueueKey, QueuePair>;
  readonly functions: Functions;
  readonly alarmEmail: string;
  /** External token mode: alarm when the central server's token goes stale. */
  readonly externalToken: boolean;
}

/** A function's physical name for a metric dimension (a secret Output when the function links secrets). */
export function functionName(fn: sst.aws.Function) {
  return $util.unsecret($util.output(fn.name) as $util.Output<string>);
}

/**
 * CloudWatch alarms, all to one SNS topic with an e-mail subscription (confirm the e-mail AWS sends
 * after the first deploy). They replace the old cron port monitor; README "## Alarms" says what each
 * one means and what to do. Missing data is "not breaching": no traffic is not an incident.
 */
export function createAlarms(input: AlarmsInput) {
  const topic = new aws.sns.Topic("AlarmTopic");
  new aws.sns.TopicSubscription("AlarmEmail", {
    topic: topic.arn,
    protocol: "email",
    endpoint: input.alarmEmail,
  });

  const common = {
    period: t.periodSeconds,
    evaluationPeriods: 1,
    treatMissingData: "notBreaching",
    alarmActions: [topic.arn],
    okActions: [topic.arn],
  };
  const custom = (metricName: string) => ({
    namespace: metrics.namespace,
    metricName,
    dimensions: { service: metrics.service },
  });
  const alarms: Record<string, aws.cloudwatch.MetricAlarm> = {};
  const alarm = (name: string, args: Omit<aws.cloudwatch.MetricAlarmArgs, keyof typeof common>) => {
    alarms[name] = new aws.cloudwatch.MetricAlarm(name, { ...common, ...args });
  };

  for (const [key, { queue, deadLetter, def }] of Object.entries(input.queues) as [QueueKey, QueuePair][]) {
    alarm(`${def.deadLetterName}NotEmpty`, {
      alarmDescription: `Messages in ${def.deadLetterName}: ${def.name} gave up on them after ${def.maxReceiveCount} receives. Read them, fix the cause, then npm run redrive.`,
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: deadLetter.nodes.queue.name },
      statistic: "Maximum",
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
    });
    if (key === "send")
      alarm("SendQueueStalled", {
        alarmDescription: `The oldest message on ${def.name} is older than ${t.sendQueueOldestMessageSeconds} s: sending is stalled (sender failing, WeChat quota exhausted, or concurrency too low).`,
        namespace: "AWS/SQS",
        metricName: "ApproximateAgeOfOldestMessage",
        dimensions: { QueueName: queue.nodes.queue.name },
        statistic: "Maximum",
        comparisonOperator: "GreaterThanThreshold",
        threshold: t.sendQueueOldestMessageSeconds,
      });
  }

  for (const [key, fn] of Object.entries(input.functions) as [FunctionKey, sst.aws.Function][]) {
    const name = `${key[0]?.toUpperCase()}${key.slice(1)}`;
    for (const metricName of ["Errors", "Throttles"] as const)
      alarm(`${name}${metricName}`, {
        alarmDescription: `${key} function ${metricName === "Errors" ? "invocations failed (crash, timeout, or a whole batch failing)" : "invocations were throttled (account concurrency exhausted)"}.`,
        namespace: "AWS/Lambda",
        metricName,
        dimensions: { FunctionName: functionName(fn) },
        statistic: "Sum",
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: 1,
      });
  }

  alarm("NotifyFailures", {
    alarmDescription:
      "Payment notifies answered 5xx: WeChat Pay will retry, but paid posts are not broadcast until it succeeds.",
    ...custom(metrics.names.notifyFailures),
    statistic: "Sum",
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    threshold: 1,
  });
  alarm("QuotaExhausted", {
    alarmDescription:
      "WeChat errcode 45009: the daily API quota is used up; broadcasts are paused (their chunks parked) and resume by themselves once quota/get shows quota again (checked every 15 minutes and after 00:00 Beijing time), or on POST /api/posts|tasks/{id}/resume.",
    ...custom(metrics.names.quotaExhausted),
    statistic: "Sum",
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    threshold: 1,
  });
  alarm("TokenRefreshFailures", {
    alarmDescription:
      "No WeChat access token could be had (40164: the IP whitelist lacks wechatEgressIps; wrong AppSecret; WeChat down): chunks wait and nothing is sent until it is fixed. The refresher's log says which.",
    ...custom(metrics.names.tokenRefreshFailures),
    statistic: "Sum",
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    threshold: 1,
  });
  if (input.externalToken)
    alarm("TokenStale", {
      alarmDescription:
        "The access token the central token server pushes is missing, was refused by WeChat, or expires within 10 minutes with no newer push: the server must PUT /api/access-token on every refresh and at least every 30 minutes.",
      ...custom(metrics.names.tokenStale),
      statistic: "Sum",
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: 1,
    });
  alarm("DeliveryFailureRate", {
    alarmDescription: `More than ${t.deliveryFailureRate * 100} % of deliveries failed permanently in ${t.periodSeconds} s (at least ${t.deliveryFailureMinVolume} tried): see failures by errcode on the dashboard.`,
    comparisonOperator: "GreaterThanThreshold",
    threshold: t.deliveryFailureRate,
    metricQueries: [
      { id: "sent", metric: { ...custom(metrics.names.sent), period: t.periodSeconds, stat: "Sum" } },
      { id: "failed", metric: { ...custom(metrics.names.failed), period: t.periodSeconds, stat: "Sum" } },
      {
        id: "rate",
        label: "delivery failure rate",
        expression: `IF((sent + failed) >= ${t.deliveryFailureMinVolume}, failed / (sent + failed), 0)`,
        returnData: true,
      },
    ],
  });

  return { topic, alarms };
}
