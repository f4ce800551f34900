import type { TableDef, TableKey } from "../common/definitions.ts";
import {
  CONSUMER_ACTIONS,
  type FunctionDef,
  type FunctionKey,
  type FunctionPermissions,
  functions as functionDefs,
  httpRoutes,
  LOG_RETENTION,
  metrics,
  permissions as permissionDefs,
  queues as queueDefs,
  type SecretName,
  secrets as secretDefs,
  tables as tableDefs,
  WECHAT_CALLERS,
} from "../common/definitions.ts";
import { queueUrlEnvName, tableEnvName } from "../common/env-names.ts";
import { configSchemas } from "../functions/config.ts";
import type { Egress } from "./network.ts";
import type { QueueKey, QueuePair } from "./queues.ts";
import type { Settings } from "./settings.ts";

export type { FunctionKey } from "../common/definitions.ts";

/**
 * The esbuild plugins SST loads for a function (a path from sst.config.ts): the admin function serves
 * the console, whose script, stylesheet and page it imports as `?bundle` strings.
 */
export const CONSOLE_PLUGINS = "infra/console-plugin.mjs";
const pluginsOf: Partial<Record<FunctionKey, string>> = { admin: CONSOLE_PLUGINS };
export type Functions = Partial<Record<FunctionKey, sst.aws.Function>>;

export interface FunctionsInput {
  readonly tables: Record<TableKey, sst.aws.Dynamo>;
  readonly queues: Record<QueueKey, QueuePair>;
  readonly secrets: Partial<Record<SecretName, sst.Secret>>;
  readonly settings: Settings;
  /** The VPC the WeChat callers leave through; none with WECHAT_EGRESS=proxy. */
  readonly egress: Egress | undefined;
}

/**
 * What a function touches, read off its config schema: the tables, queues and secrets it names, and
 * the queue it consumes (its event source receives for it).
 */
export interface FunctionAccess {
  readonly tables: readonly TableKey[];
  readonly queues: readonly QueueKey[];
  readonly secrets: readonly SecretName[];
}

export function accessOf(key: FunctionKey): FunctionAccess {
  const names = new Set(Object.keys(configSchemas[key].shape));
  return {
    tables: (Object.keys(tableDefs) as TableKey[]).filter((t) => names.has(tableEnvName(t))),
    queues: (Object.keys(queueDefs) as QueueKey[]).filter(
      (q) => names.has(queueUrlEnvName(q)) || queueDefs[q].consumer.function === key,
    ),
    secrets: (Object.keys(secretDefs) as SecretName[]).filter((s) => names.has(secretDefs[s])),
  };
}

/** The function's SST name: `sender` → `SenderFunction`. */
export const componentName = (key: FunctionKey) => `${key[0]?.toUpperCase()}${key.slice(1)}Function`;

/**
 * Every function the stage deploys: arm64 (Graviton, about 20 % cheaper per GB-second than x86 at
 * the same speed for this I/O-bound code), Node 22 (the runtime the local stack runs), memory and
 * timeout from definitions.ts. What a function may touch follows from its config schema: it links
 * exactly the tables, queues and secrets the schema names (a secret reaches it only through its
 * link, never as a plain variable) and gets the stage's value of every other setting it reads.
 * Functions that call WeChat run in the egress VPC, so WeChat sees the whitelisted NAT addresses;
 * everything else stays out of it. Functions behind `httpRoutes` get a Lambda Function URL.
 */
export function createFunctions(input: FunctionsInput): Functions {
  const { settings } = input;
  const refresher = settings.deploy.WECHAT_TOKEN_SOURCE === "refresher";
  const fns: Functions = {};
  for (const key of settings.functions) {
    const def: FunctionDef = functionDefs[key];
    const access = accessOf(key);
    const callsWeChat =
      (WECHAT_CALLERS as readonly FunctionKey[]).includes(key) && (key !== "tokenRefresher" || refresher);
    const linkedSecrets = access.secrets.flatMap((s) => input.secrets[s] ?? []);
    const http = httpRoutes.some((route) => route.function === key);
    fns[key] = new sst.aws.Function(componentName(key), {
      handler: def.handler,
      ...(pluginsOf[key] ? { nodejs: { plugins: pluginsOf[key] } } : {}),
      runtime: "nodejs22.x",
      architecture: "arm64",
      memory: `${def.memoryMb} MB`,
      timeout: `${def.timeoutSeconds} seconds`,
      ...(def.reservedConcurrency === undefined
        ? {}
        : { concurrency: { reserved: def.reservedConcurrency } }),
      logging: { format: "json", retention: LOG_RETENTION },
      environment: {
        ...Object.fromEntries(access.tables.map((t) => [tableEnvName(t), input.tables[t].name])),
        ...Object.fromEntries(access.queues.map((q) => [queueUrlEnvName(q), input.queues[q].queue.url])),
        ...settings.environment[key],
        POWERTOOLS_SERVICE_NAME: metrics.service,
        POWERTOOLS_METRICS_NAMESPACE: metrics.namespace,
      },
      // Tables and queues are not linked (a link grants `dynamodb:*` / `sqs:*`): the names come
      // through the environment and the grants are the named actions of definitions.ts.
      link: linkedSecrets,
      permissions: grants(key, input),
      ...(callsWeChat && input.egress ? { vpc: input.egress.vpc } : {}),
      // Function URLs rather than API Gateway: no per-request charge, and nothing the API would add is
      // needed. Auth "none" at the URL because no caller can sign AWS requests: WeChat Pay's notify
      // is authenticated by its signature (verified in the handler), the API by bearer tokens. No
      // CORS: no browser page on another origin calls these.
      ...(http ? { url: { authorization: "none" as const, cors: false } } : {}),
      // RESPONSE_STREAM on its URL: the admin function streams its CSV exports (definitions.ts).
      ...(def.streaming ? { streaming: true } : {}),
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
  }
  return fns;
}

/**
 * The IAM statements of a function: per table the item-level actions it uses (its indexes too when
 * it queries them), per queue the message-level ones, and the event source mapping's receive and
 * delete on the queue it consumes.
 */
export function grants(key: FunctionKey, input: Pick<FunctionsInput, "tables" | "queues">) {
  const declared: FunctionPermissions = permissionDefs[key];
  const tableGrants = (Object.entries(declared.tables) as [TableKey, readonly string[]][]).map(
    ([t, actions]) => {
      const arn = input.tables[t].arn;
      const indexed = actions.includes("Query") && (tableDefs[t] as TableDef).indexes !== undefined;
      return {
        actions: actions.map((a) => `dynamodb:${a}`),
        resources: indexed ? [arn, $interpolate`${arn}/index/*`] : [arn],
      };
    },
  );
  const queueKeys = new Set<QueueKey>([
    ...(Object.keys(declared.queues) as QueueKey[]),
    ...(Object.keys(queueDefs) as QueueKey[]).filter((q) => queueDefs[q].consumer.function === key),
  ]);
  const queueGrants = [...queueKeys].map((q) => ({
    actions: [
      ...(declared.queues[q] ?? []).map((a) => `sqs:${a}`),
      ...(queueDefs[q].consumer.function === key ? CONSUMER_ACTIONS : []),
    ],
    resources: [input.queues[q].queue.arn],
  }));
  return [...tableGrants, ...queueGrants];
}

/** A function the stage always deploys. */
export function required(fns: Functions, key: FunctionKey): sst.aws.Function {
  const fn = fns[key];
  if (!fn) throw new Error(`${key} is not deployed on this stage`);
  return fn;
}

/**
 * Each queue's consumer: partial batch responses (only the failed chunks come back), batch size and
 * window from definitions.ts, and `maximumConcurrency` so no more senders run than WeChat's rate limits
 * and DynamoDB tolerate. The consumer links its queue, which grants the receive/delete permissions.
 */
export function subscribeConsumers(queues: Record<QueueKey, QueuePair>, fns: Functions) {
  return Object.fromEntries(
    (Object.entries(queues) as [QueueKey, QueuePair][]).map(([key, { queue, def }]) => {
      const consumer = def.consumer;
      const subscription = queue.subscribe(required(fns, consumer.function).arn, {
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
