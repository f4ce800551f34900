/**
 * The AWS resource graph of `sst deploy`, built offline by the real SST components under Pulumi's mocks
 * (graph.ts), checked against common/definitions.ts: the settings that keep messages from being lost or
 * sent twice, the alarms, and that secrets never become plain environment variables.
 */
import { execFile } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import {
  alarmThresholds,
  CONSUMER_ACTIONS,
  type FunctionKey,
  functions as functionDefs,
  httpRoutes,
  metrics,
  permissions,
  type QueueKey,
  queues as queueDefs,
  SECRET_UNSET,
  type SecretName,
  schedules,
  secrets as secretDefs,
  type TableKey,
  tables as tableDefs,
  WECHAT_CALLERS,
} from "../../common/definitions.ts";
import { queueUrlEnvName, tableEnvName } from "../../common/env-names.ts";
import { configSchemas, loadConfig } from "../../functions/config.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const ALARM_EMAIL = "ops@example.com";
/**
 * Recognisable secret values that pass the functions' own checks: none may appear in any resource's
 * plain inputs except SST's own.
 */
const secretValues: Record<SecretName, string> = {
  WechatAppSecret: "sentinelAppSecret0123456789abcdef",
  WechatPayApiV3Key: "sentinelApiV3Key0123456789abcdef",
  WechatPayPublicKey: "-----BEGIN PUBLIC KEY-----sentinelPublicKey-----END PUBLIC KEY-----",
  WechatCallbackToken: "sentinelCallbackToken0123",
  WechatEncodingAesKey: "sentinelAesKeyCurrent".padEnd(43, "0"),
  WechatEncodingAesKeyPrevious: "sentinelAesKeyPrevious".padEnd(43, "0"),
  AdminToken: "sentinel-admin-token-0123456789",
  AppToken: "sentinel-app-token-0123456789ab",
  WechatTokenPushSecret: "sentinel-push-secret-0123456789",
  BroadcastWebhookSecret: "sentinel-webhook-secret-0123456789",
};

interface Resource {
  type: string;
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: resource inputs are whatever the provider takes
  inputs: Record<string, any>;
  id?: string;
}
interface Graph {
  resources: Resource[];
  outputs: Record<string, unknown>;
  builds: { functionID: string; links: Record<string, unknown>; plugins: string | null }[];
}

/** Pulumi marks secret values as `{<sig>: <secret sig>, value}`; the test wants the plain value. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if ("4dabf18193072939515e22adb298388d" in obj) return plain(obj.value);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

const settings = {
  WECHAT_APP_ID: "wx0123456789abcdef",
  WECHAT_TEMPLATE_ID: "TEMPLATE",
  WECHATPAY_MCH_ID: "1900000001",
  WECHATPAY_PUBLIC_KEY_ID: "PUB_KEY_ID_0114232134912410000000000000TEST",
  ALARM_EMAIL,
};

/** The stages the graph is built for: the defaults, the central token server with managed NAT and kept IPs, a proxy. */
const stages = {
  refresher: { secrets: ["WechatAppSecret"], env: {} },
  external: {
    secrets: [
      "WechatTokenPushSecret",
      "WechatEncodingAesKey",
      "WechatEncodingAesKeyPrevious",
      "BroadcastWebhookSecret",
    ],
    env: {
      WECHAT_TOKEN_SOURCE: "external",
      WECHAT_EGRESS: "managed",
      WECHAT_EGRESS_EIPS: "eipalloc-0a1,eipalloc-0b2",
      WECHAT_MAX_IN_FLIGHT: "16",
      BROADCAST_WEBHOOK_URL: "https://app.example.com/fanout-events",
    },
  },
  proxy: {
    secrets: ["WechatAppSecret"],
    env: { WECHAT_EGRESS: "proxy", WECHAT_API_BASE: "https://wx-proxy.example.com" },
  },
} satisfies Record<string, { secrets: SecretName[]; env: Record<string, string> }>;
type Stage = keyof typeof stages;
const graphs = {} as Record<Stage, Graph>;

async function buildGraph(stage: Stage): Promise<Graph> {
  const always: SecretName[] = [
    "WechatPayApiV3Key",
    "WechatPayPublicKey",
    "WechatCallbackToken",
    "AdminToken",
    "AppToken",
  ];
  const env = {
    ...process.env,
    ...settings,
    ...stages[stage].env,
    ...Object.fromEntries(
      [...always, ...stages[stage].secrets].map((name) => [`SST_SECRET_${name}`, secretValues[name]]),
    ),
  };
  const { stdout } = await promisify(execFile)(
    join(root, "node_modules", ".bin", "tsx"),
    [join(root, "test", "infra", "graph.ts")],
    { cwd: root, env, maxBuffer: 64 * 1024 * 1024 },
  );
  const graph = JSON.parse(stdout) as Graph;
  return {
    ...graph,
    resources: graph.resources.map((r) => ({ ...r, inputs: plain(r.inputs) as Record<string, unknown> })),
  };
}

let outputs: Record<string, unknown> = {};
beforeAll(async () => {
  const built = await Promise.all((Object.keys(stages) as Stage[]).map(buildGraph));
  (Object.keys(stages) as Stage[]).forEach((stage, i) => {
    graphs[stage] = built[i] as Graph;
  });
  outputs = graphs.refresher.outputs;
}, 180_000);

const capitalized = (key: string) => `${key[0]?.toUpperCase()}${key.slice(1)}`;
/** Finders over one stage's graph (the default stage when none is named). */
function finders(stage: Stage = "refresher") {
  const all = () => graphs[stage].resources;
  const ofType = (type: string) => all().filter((r) => r.type === type);
  const one = (type: string, name: string) => {
    const found = ofType(type).find((r) => r.name === name);
    if (!found) throw new Error(`no ${type} named ${name}; have ${ofType(type).map((r) => r.name)}`);
    return found;
  };
  const lambdaOf = (key: string) =>
    one("aws:lambda/function:Function", `${capitalized(key)}FunctionFunction`);
  /** The function keys this stage deploys. */
  const deployed = () =>
    (Object.keys(functionDefs) as FunctionKey[]).filter((key) =>
      ofType("aws:lambda/function:Function").some((f) => f.name === `${capitalized(key)}FunctionFunction`),
    );
  const linksOf = (key: string) =>
    graphs[stage].builds.find((b) => b.functionID === `${capitalized(key)}Function`)?.links ?? {};
  return { ofType, one, lambdaOf, deployed, linksOf };
}
const { ofType, one, lambdaOf, deployed, linksOf } = finders();
const arnOf = (r: Resource) => `arn:aws:mock:us-east-1:000000000000:${r.type}/${r.name}-test`;
const queueOf = (name: string) => one("aws:sqs/queue:Queue", `${name}Queue`);
/** A function role's inline IAM statements, actions and resources only. */
const statementsOf = (key: string) =>
  (
    one("aws:iam/role:Role", `${capitalized(key)}FunctionRole`).inputs.inlinePolicies as {
      policy: string;
    }[]
  )
    .flatMap(
      (p) => (JSON.parse(p.policy) as { Statement: { actions: string[]; resources: string[] }[] }).Statement,
    )
    .map(({ actions, resources }) => ({ actions, resources }));
const tableArn = (name: string) => arnOf(one("aws:dynamodb/table:Table", `${name}Table`));

describe("queues and their consumers", () => {
  for (const [key, def] of Object.entries(queueDefs)) {
    it(`${def.name}: visibility ≥ 6× its consumer's timeout, redrive to ${def.deadLetterName}`, () => {
      const queue = queueOf(def.name);
      const consumer = lambdaOf(def.consumer.function);
      expect(queue.inputs.visibilityTimeoutSeconds).toBe(def.visibilityTimeoutSeconds);
      expect(queue.inputs.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(6 * consumer.inputs.timeout);
      expect(JSON.parse(queue.inputs.redrivePolicy)).toEqual({
        deadLetterTargetArn: arnOf(queueOf(def.deadLetterName)),
        maxReceiveCount: def.maxReceiveCount,
      });
      expect(queueOf(def.deadLetterName).inputs.messageRetentionSeconds).toBe(14 * 24 * 3600);
      expect(queue.inputs.sqsManagedSseEnabled).toBe(true);
      expect(queueOf(def.deadLetterName).inputs.sqsManagedSseEnabled).toBe(true);
    });

    it(`${def.name}: event source mapping with partial batch responses and bounded concurrency`, () => {
      const mappings = ofType("aws:lambda/eventSourceMapping:EventSourceMapping").filter(
        (m) => m.inputs.eventSourceArn === arnOf(queueOf(def.name)),
      );
      expect(mappings).toHaveLength(1);
      const mapping = mappings[0] as Resource;
      expect(mapping.inputs.functionName).toBe(arnOf(lambdaOf(def.consumer.function)));
      expect(mapping.inputs.functionResponseTypes).toEqual(["ReportBatchItemFailures"]);
      expect(mapping.inputs.batchSize).toBe(def.consumer.batchSize);
      expect(mapping.inputs.maximumBatchingWindowInSeconds).toBe(def.consumer.maximumBatchingWindowSeconds);
      expect(mapping.inputs.scalingConfig).toEqual({ maximumConcurrency: def.consumer.maximumConcurrency });
      void key;
    });
  }
});

describe("functions", () => {
  it.each(Object.entries(functionDefs).filter(([key]) => key !== "tokenPush"))(
    "%s: arm64, Node 22, sizing from definitions, logs kept",
    (key, def) => {
      const fn = lambdaOf(key);
      expect(fn.inputs.handler).toBe(def.handler);
      expect(fn.inputs.architectures).toEqual(["arm64"]);
      expect(fn.inputs.runtime).toBe("nodejs22.x");
      expect(fn.inputs.memorySize).toBe(def.memoryMb);
      expect(fn.inputs.timeout).toBe(def.timeoutSeconds);
      const logGroup = ofType("aws:cloudwatch/logGroup:LogGroup").find(
        (g) => g.inputs.name === fn.inputs.loggingConfig.logGroup,
      );
      expect(logGroup?.inputs.retentionInDays).toBe(30);
      // No START/END/REPORT line per invocation (one invocation per delivery report), JSON app logs.
      expect(fn.inputs.loggingConfig).toMatchObject({
        logFormat: "JSON",
        systemLogLevel: "WARN",
        applicationLogLevel: "INFO",
      });
    },
  );

  it("sets a retention on every log group", () => {
    const groups = ofType("aws:cloudwatch/logGroup:LogGroup");
    expect(groups.length).toBeGreaterThanOrEqual(deployed().length);
    for (const group of groups) expect(group.inputs.retentionInDays, group.name).toBeGreaterThan(0);
  });

  it.each(Object.keys(stages) as Stage[])(
    "%s stage: never puts a secret in a plain environment variable or any other plain input",
    (stage) => {
      const { ofType } = finders(stage);
      const resources = graphs[stage].resources;
      for (const fn of ofType("aws:lambda/function:Function")) {
        const variables: Record<string, string> = fn.inputs.environment?.variables ?? {};
        for (const envName of Object.values(secretDefs))
          expect(variables, fn.name).not.toHaveProperty(envName);
        for (const value of Object.values(secretValues))
          expect(JSON.stringify(variables), fn.name).not.toContain(value);
      }
      for (const r of resources.filter((r) => !r.type.startsWith("sst:")))
        for (const value of Object.values(secretValues))
          expect(JSON.stringify(r.inputs), r.name).not.toContain(value);
    },
  );

  it.each(Object.keys(stages) as Stage[])(
    "%s stage: each role allows exactly the named actions on the named tables and queues",
    (stage) => {
      const f = finders(stage);
      for (const key of f.deployed()) {
        const role = f.one("aws:iam/role:Role", `${capitalized(key)}FunctionRole`).inputs;
        const statements = (role.inlinePolicies as { policy: string }[]).flatMap(
          (p) =>
            (JSON.parse(p.policy) as { Statement: { actions: string[]; resources: string[] }[] }).Statement,
        );
        const tableArn = (t: string) =>
          arnOf(f.one("aws:dynamodb/table:Table", `${tableDefs[t as TableKey].name}Table`));
        const queueArn = (q: string) =>
          arnOf(f.one("aws:sqs/queue:Queue", `${queueDefs[q as QueueKey].name}Queue`));
        const expected = [
          ...(Object.entries(permissions[key].tables) as [string, readonly string[]][]).map(
            ([t, actions]) => ({
              actions: actions.map((a) => `dynamodb:${a}`),
              resources:
                actions.includes("Query") && "indexes" in tableDefs[t as TableKey]
                  ? [tableArn(t), `${tableArn(t)}/index/*`]
                  : [tableArn(t)],
            }),
          ),
          ...(Object.keys(queueDefs) as QueueKey[])
            .filter((q) => q in permissions[key].queues || queueDefs[q].consumer.function === key)
            .map((q) => ({
              actions: [
                ...((permissions[key].queues as Record<string, readonly string[]>)[q] ?? []).map(
                  (a) => `sqs:${a}`,
                ),
                ...(queueDefs[q].consumer.function === key ? CONSUMER_ACTIONS : []),
              ],
              resources: [queueArn(q)],
            })),
        ];
        expect(
          statements.map(({ actions, resources }) => ({ actions, resources })),
          `${stage}/${key}`,
        ).toEqual(expected);
        for (const { actions } of statements) for (const action of actions) expect(action).not.toMatch(/\*/);
        expect(role.managedPolicyArns, key).toEqual([
          "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
          ...(f.lambdaOf(key).inputs.vpcConfig
            ? ["arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"]
            : []),
        ]);
      }
    },
  );

  it("grants each function exactly the tables and queues its config names", () => {
    for (const key of Object.keys(functionDefs) as FunctionKey[]) {
      const names = Object.keys(configSchemas[key].shape);
      const tablesRead = (Object.keys(tableDefs) as TableKey[]).filter((t) =>
        names.includes(tableEnvName(t)),
      );
      expect(Object.keys(permissions[key].tables).sort(), key).toEqual(tablesRead.sort());
      const queuesNamed = (Object.keys(queueDefs) as QueueKey[]).filter((q) =>
        names.includes(queueUrlEnvName(q)),
      );
      expect(Object.keys(permissions[key].queues).sort(), key).toEqual(queuesNamed.sort());
    }
  });

  it("reserves concurrency for each public HTTP function, and only for them", () => {
    for (const key of deployed()) {
      const reserved = lambdaOf(key).inputs.reservedConcurrentExecutions;
      const http = httpRoutes.some((r) => r.function === key);
      if (http)
        expect(reserved, key).toBe(
          (functionDefs[key] as { reservedConcurrency?: number }).reservedConcurrency,
        );
      else expect(reserved, key).toBeUndefined();
    }
    expect(finders("external").lambdaOf("tokenPush").inputs.reservedConcurrentExecutions).toBe(
      functionDefs.tokenPush.reservedConcurrency,
    );
  });

  it("gives notify and admin a Function URL without IAM auth or CORS, and nothing else a URL", () => {
    const urls = ofType("aws:lambda/functionUrl:FunctionUrl");
    const routed = new Set<string>(
      httpRoutes.map((r) => r.function).filter((f) => (deployed() as string[]).includes(f)),
    );
    expect(urls.map((u) => u.name).sort()).toEqual(
      [...routed].map((f) => `${capitalized(f)}FunctionUrl`).sort(),
    );
    for (const url of urls) {
      expect(url.inputs.authorizationType).toBe("NONE");
      expect(url.inputs.cors).toBeUndefined();
    }
    expect(outputs.notifyUrl).toMatch(/^https:\/\/.*\/wechatpay\/notify$/);
    expect(outputs.adminApiUrl).toMatch(/^https:\/\/.*\/api\/$/);
    expect(outputs.adminConsoleUrl).toMatch(/^https:\/\/.*\/admin$/);
  });

  it("streams the admin function's answers (RESPONSE_STREAM) and buffers every other URL", () => {
    const urls = ofType("aws:lambda/functionUrl:FunctionUrl");
    const modes = Object.fromEntries(urls.map((u) => [u.name, u.inputs.invokeMode]));
    expect(modes.AdminFunctionUrl).toBe("RESPONSE_STREAM");
    for (const [name, mode] of Object.entries(modes))
      if (name !== "AdminFunctionUrl") expect(mode, name).toBe("BUFFERED");
    // The subscriber lookup's reads: the subscriber, its credits, chunk claims and task records.
    expect(permissions.admin.tables).toMatchObject({
      subscribers: expect.arrayContaining(["GetItem"]),
      credits: expect.arrayContaining(["Query"]),
      broadcasts: expect.arrayContaining(["Query"]),
      deliveries: expect.arrayContaining(["Query", "GetItem"]),
    });
  });

  it("bundles the admin function, and only it, with the console's esbuild plugin", () => {
    // The graph's build stub loads the plugins as SST does; without them admin.ts would not bundle.
    const withPlugins = graphs.refresher.builds.filter((b) => b.plugins !== null);
    expect([...new Set(withPlugins.map((b) => `${b.functionID} ${b.plugins}`))]).toEqual([
      "AdminFunction infra/console-plugin.mjs",
    ]);
  });
});

describe("tables", () => {
  it.each(Object.values(tableDefs))(
    "$name: keys, TTL, point-in-time recovery when critical, encrypted",
    (def) => {
      const table = one("aws:dynamodb/table:Table", `${def.name}Table`);
      expect(table.inputs.serverSideEncryption).toEqual({ enabled: true });
      expect(table.inputs.billingMode).toBe("PAY_PER_REQUEST");
      expect(table.inputs.hashKey).toBe(def.hashKey.name);
      expect(table.inputs.rangeKey).toBe("rangeKey" in def ? def.rangeKey.name : undefined);
      expect(table.inputs.pointInTimeRecovery).toEqual({ enabled: def.critical });
      if ("ttlAttribute" in def)
        expect(table.inputs.ttl).toEqual({ attributeName: def.ttlAttribute, enabled: true });
      else expect(table.inputs.ttl).toBeUndefined();
      const indexes = (table.inputs.globalSecondaryIndexes ?? []) as Record<string, unknown>[];
      expect(
        indexes.map((i) => ({
          name: i.name,
          hashKey: i.hashKey,
          rangeKey: i.rangeKey,
          projection: i.projectionType,
        })),
      ).toEqual(
        ("indexes" in def ? def.indexes : []).map((i) => ({
          name: i.name,
          hashKey: i.hashKey.name,
          rangeKey: i.rangeKey?.name,
          projection: "ALL",
        })),
      );
    },
  );
});

describe("schedules", () => {
  it.each(Object.entries(schedules))(
    "%s: a rule at its rate invoking its function with its event",
    (key, def) => {
      const name = `${key[0]?.toUpperCase()}${key.slice(1)}Schedule`;
      const rule = one("aws:cloudwatch/eventRule:EventRule", `${name}Rule`);
      expect(rule.inputs.scheduleExpression).toBe(
        `rate(${def.everyMinutes} minute${def.everyMinutes === 1 ? "" : "s"})`,
      );
      const target = one("aws:cloudwatch/eventTarget:EventTarget", `${name}Target`);
      expect(target.inputs.arn).toBe(arnOf(lambdaOf(def.function)));
      expect(JSON.parse(target.inputs.input)).toEqual(def.event);
    },
  );

  it("checks for due push tasks every minute, so a task scheduled for 09:00 starts by 09:01", () => {
    expect(schedules.dueTasks).toMatchObject({ function: "taskScheduler", everyMinutes: 1 });
    expect(lambdaOf("taskScheduler").inputs.vpcConfig).toBeUndefined();
  });
});

describe("the follower sync", () => {
  it("has the Syncs table, SyncQueue with its dead-letter queue, and a consumer in the egress VPC", () => {
    expect(one("aws:dynamodb/table:Table", "SyncsTable").inputs).toMatchObject({
      hashKey: "syncId",
      billingMode: "PAY_PER_REQUEST",
      pointInTimeRecovery: { enabled: false },
      serverSideEncryption: { enabled: true },
    });
    const fn = lambdaOf("followerSync");
    expect(fn.inputs).toMatchObject({
      handler: "functions/follower-sync.handler",
      timeout: 120,
      memorySize: 256,
    });
    const queue = queueOf("SyncQueue");
    expect(queue.inputs.visibilityTimeoutSeconds).toBe(720);
    expect(JSON.parse(queue.inputs.redrivePolicy)).toEqual({
      deadLetterTargetArn: arnOf(queueOf("SyncDeadLetterQueue")),
      maxReceiveCount: 5,
    });
    const mapping = ofType("aws:lambda/eventSourceMapping:EventSourceMapping").filter(
      (m) => m.inputs.eventSourceArn === arnOf(queue),
    );
    expect(mapping.map((m) => m.inputs)).toEqual([
      expect.objectContaining({
        functionName: arnOf(fn),
        batchSize: 1,
        functionResponseTypes: ["ReportBatchItemFailures"],
        scalingConfig: { maximumConcurrency: 2 },
      }),
    ]);
    // WeChat sees it from the whitelisted NAT addresses, as it sees the senders.
    expect(fn.inputs.vpcConfig.subnetIds).toEqual(lambdaOf("sender").inputs.vpcConfig.subnetIds);
    expect(finders("proxy").lambdaOf("followerSync").inputs.vpcConfig).toBeUndefined();
    expect(one("aws:cloudwatch/metricAlarm:MetricAlarm", "SyncDeadLetterQueueNotEmpty").inputs).toMatchObject(
      {
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: queueOf("SyncDeadLetterQueue").inputs.name },
        threshold: 0,
      },
    );
    expect(one("aws:cloudwatch/metricAlarm:MetricAlarm", "FollowerSyncErrors").inputs).toMatchObject({
      dimensions: { FunctionName: fn.inputs.name },
    });
  });

  it("may write subscribers and its syncs, read the shared token, and nothing more; no AppSecret", () => {
    expect(statementsOf("followerSync")).toEqual([
      { actions: ["dynamodb:UpdateItem"], resources: [tableArn("Syncs")] },
      { actions: ["dynamodb:UpdateItem"], resources: [tableArn("Subscribers")] },
      { actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources: [tableArn("Tokens")] },
      { actions: ["sqs:SendMessage"], resources: [arnOf(queueOf("TokenRefreshQueue"))] },
      {
        actions: ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        resources: [arnOf(queueOf("SyncQueue"))],
      },
    ]);
    expect(Object.keys(lambdaOf("followerSync").inputs.environment.variables).sort()).toEqual(
      expect.arrayContaining([
        "QUEUE_URL_SYNC",
        "QUEUE_URL_TOKEN_REFRESH",
        "TABLE_SUBSCRIBERS",
        "TABLE_SYNCS",
        "TABLE_TOKENS",
      ]),
    );
    expect(Object.keys(linksOf("followerSync"))).not.toContain("WechatAppSecret");
    // The admin API starts and reads syncs: it puts and updates them and sends their first message.
    expect(statementsOf("admin")).toEqual(
      expect.arrayContaining([
        {
          actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
          resources: [tableArn("Syncs")],
        },
        { actions: ["sqs:SendMessage"], resources: [arnOf(queueOf("SyncQueue"))] },
      ]),
    );
  });
});

describe("alarms", () => {
  const topicArn = () => arnOf(one("aws:sns/topic:Topic", "AlarmTopic"));
  const alarm = (name: string) => one("aws:cloudwatch/metricAlarm:MetricAlarm", name).inputs;

  it("notify an SNS topic with an e-mail subscription", () => {
    const subscription = one("aws:sns/topicSubscription:TopicSubscription", "AlarmEmail");
    expect(subscription.inputs).toMatchObject({
      topic: topicArn(),
      protocol: "email",
      endpoint: ALARM_EMAIL,
    });
    for (const a of ofType("aws:cloudwatch/metricAlarm:MetricAlarm")) {
      expect(a.inputs.alarmActions, a.name).toEqual([topicArn()]);
      expect(a.inputs.treatMissingData, a.name).toBe("notBreaching");
    }
  });

  it.each(Object.values(queueDefs))("$deadLetterName not empty", (def) => {
    expect(alarm(`${def.deadLetterName}NotEmpty`)).toMatchObject({
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: queueOf(def.deadLetterName).inputs.name },
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
    });
  });

  it("send queue stalled: oldest message too old", () => {
    expect(alarm("SendQueueStalled")).toMatchObject({
      namespace: "AWS/SQS",
      metricName: "ApproximateAgeOfOldestMessage",
      dimensions: { QueueName: queueOf(queueDefs.send.name).inputs.name },
      statistic: "Maximum",
      threshold: alarmThresholds.sendQueueOldestMessageSeconds,
    });
  });

  it.each(Object.keys(functionDefs).filter((key) => key !== "tokenPush"))(
    "%s errors and throttles",
    (key) => {
      for (const metricName of ["Errors", "Throttles"])
        expect(alarm(`${capitalized(key)}${metricName}`)).toMatchObject({
          namespace: "AWS/Lambda",
          metricName,
          dimensions: { FunctionName: lambdaOf(key).inputs.name },
          statistic: "Sum",
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          threshold: 1,
        });
    },
  );

  it.each([
    ["NotifyFailures", metrics.names.notifyFailures],
    ["QuotaExhausted", metrics.names.quotaExhausted],
    ["TokenRefreshFailures", metrics.names.tokenRefreshFailures],
  ])("%s on the custom metric the code emits", (name, metricName) => {
    expect(alarm(name)).toMatchObject({
      namespace: metrics.namespace,
      metricName,
      dimensions: { service: metrics.service },
      statistic: "Sum",
      threshold: 1,
    });
  });

  it("delivery failure rate above the threshold", () => {
    const rate = alarm("DeliveryFailureRate");
    expect(rate.threshold).toBe(alarmThresholds.deliveryFailureRate);
    expect(rate.comparisonOperator).toBe("GreaterThanThreshold");
    const queries = rate.metricQueries as {
      id: string;
      expression?: string;
      metric?: { metricName: string };
    }[];
    expect(queries.map((q) => q.metric?.metricName).filter(Boolean)).toEqual([
      metrics.names.sent,
      metrics.names.failed,
    ]);
    expect(queries.find((q) => q.expression)?.expression).toContain("failed / (sent + failed)");
  });

  it("a dashboard shows throughput, errcodes, queues and token refreshes", () => {
    const body = JSON.parse(one("aws:cloudwatch/dashboard:Dashboard", "Dashboard").inputs.dashboardBody);
    const text = JSON.stringify(body);
    for (const name of [
      metrics.names.sent,
      metrics.names.failedByErrcode,
      metrics.names.tokenRefreshes,
      "ApproximateNumberOfMessagesVisible",
      "ApproximateAgeOfOldestMessage",
    ])
      expect(text).toContain(name);
  });
});

describe("every function can start with what the deploy gives it", () => {
  it.each(Object.keys(stages) as Stage[])(
    "%s stage: each config loads from its environment and links",
    (stage) => {
      const f = finders(stage);
      for (const key of f.deployed()) {
        const env: Record<string, string> = { ...f.lambdaOf(key).inputs.environment?.variables };
        for (const [name, properties] of Object.entries(f.linksOf(key))) {
          const value = (properties as { value?: unknown }).value;
          if (name in secretDefs && typeof value === "string" && value !== SECRET_UNSET)
            env[secretDefs[name as SecretName]] = value;
        }
        expect(() => loadConfig(configSchemas[key], env), `${stage}/${key}`).not.toThrow();
      }
    },
  );

  it("passes each stage's settings to the functions that read them, and to no other", () => {
    const f = finders("external");
    expect(f.lambdaOf("sender").inputs.environment.variables).toMatchObject({
      WECHAT_MAX_IN_FLIGHT: "16",
      WECHAT_TOKEN_SOURCE: "external",
    });
    expect(f.lambdaOf("notify").inputs.environment.variables).not.toHaveProperty("WECHAT_MAX_IN_FLIGHT");
    expect(f.lambdaOf("callback").inputs.environment.variables).not.toHaveProperty("WECHAT_TEMPLATE_ID");
  });
});

describe("fixed egress for the IP whitelist", () => {
  const inVpc = (stage: Stage) =>
    finders(stage)
      .deployed()
      .filter((key) => finders(stage).lambdaOf(key).inputs.vpcConfig !== undefined)
      .sort();

  it("runs exactly the WeChat callers in the VPC: the senders, the refresher, the follower sync and admin (previews)", () => {
    expect(inVpc("refresher")).toEqual([...WECHAT_CALLERS].sort());
    const subnets = lambdaOf("sender").inputs.vpcConfig.subnetIds as string[];
    expect(subnets).toEqual(
      ofType("aws:ec2/subnet:Subnet")
        .filter((s) => s.name.includes("Private"))
        .map((s) => `${s.name}-test-id`),
    );
  });

  it("leaves through one fck-nat instance and one new Elastic IP per zone, and outputs the IPs", () => {
    const nats = ofType("aws:ec2/instance:Instance");
    expect(nats).toHaveLength(2);
    for (const nat of nats)
      expect(nat.inputs).toMatchObject({ instanceType: "t4g.nano", sourceDestCheck: false });
    const eips = ofType("aws:ec2/eip:Eip");
    expect(eips.map((e) => e.id)).toEqual([undefined, undefined]);
    expect(ofType("aws:ec2/eipAssociation:EipAssociation")).toHaveLength(2);
    expect(ofType("aws:ec2/natGateway:NatGateway")).toHaveLength(0);
    expect(outputs.wechatEgressIps).toEqual(["203.0.113.1", "203.0.113.2"]);
  });

  it("reaches DynamoDB through a gateway endpoint on the private route tables", () => {
    const endpoint = one("aws:ec2/vpcEndpoint:VpcEndpoint", "DynamoDbEndpoint").inputs;
    expect(endpoint).toMatchObject({
      vpcEndpointType: "Gateway",
      serviceName: "com.amazonaws.us-east-1.dynamodb",
    });
    expect(endpoint.routeTableIds).toEqual(
      ofType("aws:ec2/routeTable:RouteTable")
        .filter((t) => t.name.includes("Private"))
        .map((t) => `${t.name}-test-id`),
    );
  });

  it("with managed NAT and kept allocations: NAT gateways on the given Elastic IPs, read not created", () => {
    const f = finders("external");
    expect(f.ofType("aws:ec2/natGateway:NatGateway").map((n) => n.inputs.allocationId)).toEqual([
      "eipalloc-0a1",
      "eipalloc-0b2",
    ]);
    expect(f.ofType("aws:ec2/eip:Eip").map((e) => e.id)).toEqual(["eipalloc-0a1", "eipalloc-0b2"]);
    expect(f.ofType("aws:ec2/instance:Instance")).toHaveLength(0);
    expect(graphs.external.outputs.wechatEgressIps).toHaveLength(2);
  });

  it("with a proxy: no VPC at all, and WECHAT_API_BASE points at it", () => {
    const f = finders("proxy");
    expect(f.ofType("sst:aws:Vpc")).toHaveLength(0);
    expect(inVpc("proxy")).toEqual([]);
    expect(f.lambdaOf("sender").inputs.environment.variables.WECHAT_API_BASE).toBe(
      "https://wx-proxy.example.com",
    );
    expect(graphs.proxy.outputs.wechatEgressIps).toMatch(/proxy/);
  });
});

describe("where the access token comes from", () => {
  const linking = (stage: Stage, secret: SecretName) =>
    finders(stage)
      .deployed()
      .filter((key) => secret in finders(stage).linksOf(key));

  it("refresher mode: only the refresher holds the AppSecret; a schedule and the senders' queue trigger it", () => {
    expect(linking("refresher", "WechatAppSecret")).toEqual(["tokenRefresher"]);
    expect(deployed()).not.toContain("tokenPush");
    const rule = one("aws:cloudwatch/eventRule:EventRule", "TokenRefreshScheduleRule");
    expect(rule.inputs.scheduleExpression).toBe(`rate(${schedules.tokenRefresh.everyMinutes} minute)`);
    const target = one("aws:cloudwatch/eventTarget:EventTarget", "TokenRefreshScheduleTarget");
    expect(target.inputs.arn).toBe(arnOf(lambdaOf("tokenRefresher")));
    expect(JSON.parse(target.inputs.input)).toEqual(schedules.tokenRefresh.event);
    expect(outputs).not.toHaveProperty("accessTokenPushUrl");
  });

  it("external mode: no AppSecret anywhere, a push URL with its own secret, the refresher only watches", () => {
    const f = finders("external");
    expect(f.ofType("sst:sst:Secret").map((s) => s.name)).not.toContain("WechatAppSecret");
    expect(linking("external", "WechatAppSecret")).toEqual([]);
    expect(linking("external", "WechatTokenPushSecret")).toEqual(["tokenPush"]);
    expect(linking("external", "AdminToken")).toEqual(["admin"]);
    expect(linking("external", "AppToken")).toEqual(["admin"]);
    expect(f.lambdaOf("tokenRefresher").inputs.vpcConfig).toBeUndefined();
    expect(graphs.external.outputs.accessTokenPushUrl).toMatch(/^https:\/\/.*\/api\/access-token$/);
    expect(f.one("aws:cloudwatch/metricAlarm:MetricAlarm", "TokenStale").inputs).toMatchObject({
      namespace: metrics.namespace,
      metricName: metrics.names.tokenStale,
      threshold: 1,
    });
    expect(ofType("aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => a.name)).not.toContain("TokenStale");
  });

  it("safe mode's keys are optional secrets: a placeholder when unset, the key when set", () => {
    expect(linksOf("callback").WechatEncodingAesKey).toMatchObject({ value: SECRET_UNSET });
    expect(finders("external").linksOf("callback").WechatEncodingAesKey).toMatchObject({
      value: secretValues.WechatEncodingAesKey,
    });
  });
});

describe("the broadcast-event webhook", () => {
  const webhookQueueArn = () => arnOf(queueOf("WebhookQueue"));

  it("has WebhookQueue, redriven to its DLQ after about a day of receives, with an alarm on the DLQ", () => {
    const queue = queueOf("WebhookQueue");
    expect(JSON.parse(queue.inputs.redrivePolicy)).toEqual({
      deadLetterTargetArn: arnOf(queueOf("WebhookDeadLetterQueue")),
      maxReceiveCount: 20,
    });
    expect(
      one("aws:cloudwatch/metricAlarm:MetricAlarm", "WebhookDeadLetterQueueNotEmpty").inputs,
    ).toMatchObject({
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: queueOf("WebhookDeadLetterQueue").inputs.name },
      threshold: 0,
      alarmActions: [arnOf(one("aws:sns/topic:Topic", "AlarmTopic"))],
    });
  });

  it("runs its consumer outside the VPC (it calls the business app, not WeChat)", () => {
    expect(lambdaOf("sender").inputs.vpcConfig).toBeDefined();
    expect(lambdaOf("webhook").inputs).toMatchObject({ handler: "functions/webhook.handler", timeout: 30 });
    expect(lambdaOf("webhook").inputs.vpcConfig).toBeUndefined();
    expect(finders("external").lambdaOf("webhook").inputs.vpcConfig).toBeUndefined();
  });

  it("lets the consumer hide its own messages for the backoff and nothing more; the event makers only send", () => {
    expect(statementsOf("webhook")).toEqual([
      {
        actions: [
          "sqs:ChangeMessageVisibility",
          "sqs:ReceiveMessage",
          "sqs:DeleteMessage",
          "sqs:GetQueueAttributes",
        ],
        resources: [webhookQueueArn()],
      },
    ]);
    for (const key of ["notify", "admin", "fanout", "sender", "resumer"]) {
      const onWebhook = statementsOf(key).filter((s) => s.resources.includes(webhookQueueArn()));
      expect(onWebhook, key).toEqual([{ actions: ["sqs:SendMessage"], resources: [webhookQueueArn()] }]);
    }
  });

  it("signs with an SST secret only the consumer holds: a placeholder without a URL, the key with one", () => {
    const holders = (stage: Stage) =>
      finders(stage)
        .deployed()
        .filter((key) => "BroadcastWebhookSecret" in finders(stage).linksOf(key));
    expect(holders("refresher")).toEqual(["webhook"]);
    expect(linksOf("webhook").BroadcastWebhookSecret).toMatchObject({ value: SECRET_UNSET });
    expect(holders("external")).toEqual(["webhook"]);
    expect(finders("external").linksOf("webhook").BroadcastWebhookSecret).toMatchObject({
      value: secretValues.BroadcastWebhookSecret,
    });
    const env = finders("external").lambdaOf("webhook").inputs.environment.variables;
    expect(env).toMatchObject({ BROADCAST_WEBHOOK_URL: "https://app.example.com/fanout-events" });
    expect(env).not.toHaveProperty("BROADCAST_WEBHOOK_SECRET");
    expect(finders("external").lambdaOf("notify").inputs.environment.variables).toMatchObject({
      BROADCAST_WEBHOOK_URL: "https://app.example.com/fanout-events",
    });
  });
});

describe("the resumer (quiet hours and quota pauses)", () => {
  it("runs every minute in the egress VPC (it asks WeChat's quota/get), with what it touches named", () => {
    expect(schedules.resumeParked).toMatchObject({ function: "resumer", everyMinutes: 1 });
    const fn = lambdaOf("resumer");
    expect(fn.inputs).toMatchObject({ handler: "functions/resumer.handler", timeout: 60 });
    expect(fn.inputs.vpcConfig.subnetIds).toEqual(lambdaOf("sender").inputs.vpcConfig.subnetIds);
    expect(Object.keys(fn.inputs.environment.variables)).toEqual(
      expect.arrayContaining([
        "TABLE_BROADCASTS",
        "QUEUE_URL_SEND",
        "TABLE_TOKENS",
        "QUEUE_URL_TOKEN_REFRESH",
      ]),
    );
    expect(Object.keys(linksOf("resumer"))).not.toContain("WechatAppSecret");
    expect(one("aws:cloudwatch/metricAlarm:MetricAlarm", "ResumerErrors").inputs).toMatchObject({
      dimensions: { FunctionName: fn.inputs.name },
    });
  });

  it("may read and clear parked chunks, read the shared token and queue chunks, and nothing more", () => {
    expect(statementsOf("resumer")).toEqual([
      {
        actions: [
          "dynamodb:GetItem",
          "dynamodb:Query",
          "dynamodb:UpdateItem",
          "dynamodb:DeleteItem",
          "dynamodb:BatchWriteItem",
        ],
        resources: [tableArn("Broadcasts")],
      },
      { actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources: [tableArn("Tokens")] },
      { actions: ["sqs:SendMessage"], resources: [arnOf(queueOf("SendQueue"))] },
      { actions: ["sqs:SendMessage"], resources: [arnOf(queueOf("TokenRefreshQueue"))] },
      { actions: ["sqs:SendMessage"], resources: [arnOf(queueOf("WebhookQueue"))] },
    ]);
    // The senders and the fan-out park chunks (PutItem); the admin API ends a pause (UpdateItem).
    for (const key of ["sender", "fanout"])
      expect(statementsOf(key)).toContainEqual({
        actions: expect.arrayContaining(["dynamodb:PutItem", "dynamodb:UpdateItem"]),
        resources: [tableArn("Broadcasts")],
      });
    expect(statementsOf("admin")).toContainEqual({
      actions: expect.arrayContaining(["dynamodb:UpdateItem"]),
      resources: [tableArn("Broadcasts")],
    });
  });
});
