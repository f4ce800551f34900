import {
  type FunctionDef,
  functions as functionDefs,
  httpRoutes,
  LOG_RETENTION,
  metrics,
  type SecretName,
  tables as tableDefs,
} from "./definitions.ts";
import { queueUrlEnvName, tableEnvName } from "./env-names.ts";
import type { QueueKey, QueuePair } from "./queues.ts";
import type { Settings } from "./settings.ts";
import type { TableKey } from "./storage.ts";

export type FunctionKey = keyof typeof functionDefs;

/**
 * What each function may touch. Links grant the IAM access (SST: `dynamodb:*` on that table and its
 * indexes, `sqs:*` on that queue, decrypt for that secret) and nothing else; a function never gets a
 * table, queue or secret it does not use. Every function still receives every resource *name* as a
 * plain environment variable (functions/config.ts asks for all of them); names are not secrets.
 */
const access: Record<
  FunctionKey,
  {
    readonly tables: readonly TableKey[];
    readonly queues: readonly QueueKey[];
    readonly secrets: readonly SecretName[];
  }
> = {
  notify: {
    tables: ["posts", "broadcasts"],
    queues: ["fanout"],
    secrets: ["WechatPayApiV3Key", "WechatPayPublicKey"],
  },
  // Push tasks: the admin creates them, takes uploads, starts sends (fan-out queue) and re-queues
  // transient failures (send queue); the fan-out reads uploaded lists; the senders use credits.
  admin: {
    tables: ["subscribers", "posts", "broadcasts", "tasks", "taskRecipients", "deliveries", "credits"],
    queues: ["fanout", "send"],
    secrets: ["AdminToken"],
  },
  // The fan-out also tallies delivery reports: records (deliveries) joined to reports (inbox).
  fanout: {
    tables: ["broadcasts", "subscribers", "taskRecipients", "deliveries", "inbox"],
    queues: ["fanout", "send"],
    secrets: [],
  },
  sender: {
    tables: ["broadcasts", "deliveries", "subscribers", "tokens", "credits"],
    queues: ["send"],
    secrets: ["WechatAppSecret"],
  },
  callback: {
    tables: ["inbox", "subscribers"],
    queues: [],
    secrets: ["WechatCallbackToken"],
  },
};

export interface FunctionsInput {
  readonly tables: Record<TableKey, sst.aws.Dynamo>;
  readonly queues: Record<QueueKey, QueuePair>;
  readonly secrets: Record<SecretName, sst.Secret>;
  readonly settings: Settings;
}

/**
 * Every function of definitions.ts: arm64 (Graviton, about 20 % cheaper per GB-second than x86 at the
 * same speed for this I/O-bound code), Node 22 (the runtime the local stack runs), memory and timeout
 * from definitions.ts (the sender gets 512 MB because Lambda scales CPU with memory and it parses and
 * sends 100-recipient chunks with up to WECHAT_MAX_IN_FLIGHT calls in flight; the others mostly wait
 * on DynamoDB and SQS). Functions behind `httpRoutes` get a Lambda Function URL (below).
 */
export function createFunctions(input: FunctionsInput): Record<FunctionKey, sst.aws.Function> {
  const environment: Record<string, $util.Input<string>> = {
    ...Object.fromEntries(
      (Object.keys(tableDefs) as TableKey[]).map((key) => [tableEnvName(key), input.tables[key].name]),
    ),
    ...Object.fromEntries(
      (Object.keys(input.queues) as QueueKey[]).map((key) => [
        queueUrlEnvName(key),
        input.queues[key].queue.url,
      ]),
    ),
    // Settings that are not secrets; secrets come through `link` only.
    ...input.settings,
    POWERTOOLS_SERVICE_NAME: metrics.service,
    POWERTOOLS_METRICS_NAMESPACE: metrics.namespace,
  };
  delete environment.ALARM_EMAIL;

  const entries = Object.entries(functionDefs) as [FunctionKey, FunctionDef][];
  return Object.fromEntries(
    entries.map(([key, def]) => {
      const a = access[key];
      const http = httpRoutes.some((route) => route.function === key);
      const fn = new sst.aws.Function(`${key[0]?.toUpperCase()}${key.slice(1)}Function`, {
        handler: def.handler,
        runtime: "nodejs22.x",
        architecture: "arm64",
        memory: `${def.memoryMb} MB`,
        timeout: `${def.timeoutSeconds} seconds`,
        logging: { format: "json", retention: LOG_RETENTION },
        environment,
        link: [
          ...a.tables.map((t) => input.tables[t]),
          ...a.queues.map((q) => input.queues[q].queue),
          ...a.secrets.map((s) => input.secrets[s]),
        ],
        // Function URLs rather than API Gateway: no per-request charge, and nothing the API would add is
        // needed. Auth "none" at the URL because neither caller can sign AWS requests: WeChat Pay's
        // notify is authenticated by its signature (verified in the handler), the admin API by its
        // bearer token. No CORS: no browser page on another origin calls these.
        ...(http ? { url: { authorization: "none" as const, cors: false } } : {}),
        transform: {
          // Lambda's own START/END/REPORT lines are ~300 bytes per invocation: with one invocation per
          // delivery report they would be most of the log bill. WARN keeps only platform problems.
          function: (args: aws.lambda.FunctionArgs) => {
            args.loggingConfig = $output(args.loggingConfig).apply((config) => ({
              ...(config ?? { logFormat: "JSON" }),
              systemLogLevel: "WARN",
              applicationLogLevel: "INFO",
            }));
          },
        },
      });
      return [key, fn];
    }),
  ) as Record<FunctionKey, sst.aws.Function>;
}

/**
 * Each queue's consumer: partial batch responses (only the failed chunks come back), batch size and
 * window from definitions.ts, and `maximumConcurrency` so no more senders run than WeChat's rate limits
 * and DynamoDB tolerate. The consumer links its queue, which grants the receive/delete permissions.
 */
export function subscribeConsumers(
  queues: Record<QueueKey, QueuePair>,
  fns: Record<FunctionKey, sst.aws.Function>,
) {
  return Object.fromEntries(
    (Object.entries(queues) as [QueueKey, QueuePair][]).map(([key, { queue, def }]) => {
      const consumer = def.consumer;
      if (!access[consumer.function].queues.includes(key))
        throw new Error(`${consumer.function} consumes ${def.name} but does not link it`);
      const subscription = queue.subscribe(fns[consumer.function].arn, {
        batch: {
          size: consumer.batchSize,
          window: `${consumer.maximumBatchingWindowSeconds} seconds`,
          partialResponses: true,
        },
        transform: {
          eventSourceMapping: (args: aws.lambda.EventSourceMappingArgs) => {
            args.scalingConfig = { maximumConcurrency: consumer.maximumConcurrency };
          },
        },
      });
      return [key, subscription];
    }),
  );
}
