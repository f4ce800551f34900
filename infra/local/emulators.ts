/**
 * DynamoDB Local and fauxqs on loopback, with every table and queue of common/definitions.ts created
 * through the ordinary AWS SDK calls (the same requests would build them in AWS). Each call starts
 * fresh emulators on ephemeral ports, so parallel test files get separate stacks.
 */

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import {
  type AttributeDefinition,
  CreateTableCommand,
  DynamoDBClient,
  type KeySchemaElement,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { type KeyDef, type QueueDef, queues, type TableDef, tables } from "../../common/definitions.ts";
import { queueUrlEnvName, tableEnvName } from "../../common/env-names.ts";
import { startDynamoDbLocal } from "./dynamodb-local.ts";
import { killOnExit } from "./process-cleanup.ts";

import { startRequestCountProxy } from "./request-count-proxy.ts";

export { queueUrlEnvName, tableEnvName } from "../../common/env-names.ts";

export type QueueKey = keyof typeof queues;

/**
 * Test-only knobs: crash-recovery tests cannot wait for a 6-minute visibility timeout. Production
 * values come only from common/definitions.ts; the demo and dev stacks pass no overrides.
 */
export interface QueueOverride {
  readonly visibilityTimeoutSeconds?: number;
  readonly maxReceiveCount?: number;
}

export interface EmulatorOptions {
  readonly log?: (line: string) => void;
  readonly queueOverrides?: Partial<Record<QueueKey, QueueOverride>>;
  readonly region?: string;
  /** Put a request-counting proxy in front of each emulator (the benchmark's independent count). */
  readonly countRequests?: boolean;
}

/** A queue as created: the definition's settings (after overrides) plus its URLs and ARNs. */
export interface LocalQueue {
  readonly key: QueueKey;
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly deadLetterName: string;
  readonly deadLetterUrl: string;
  readonly deadLetterArn: string;
  readonly visibilityTimeoutSeconds: number;
  readonly maxReceiveCount: number;
  readonly consumer: QueueDef["consumer"];
}

export interface Emulators {
  /** Endpoints, dummy credentials, region and the TABLE_* / QUEUE_URL_* resource names. */
  readonly awsEnv: Record<string, string>;
  readonly region: string;
  readonly endpoints: { readonly dynamodb: string; readonly sqs: string };
  readonly queues: readonly LocalQueue[];
  /** Emulator process ids, for leak checks. */
  readonly pids: readonly number[];
  /** Requests the emulators received, by `Service.Operation`; empty unless `countRequests` was set. */
  emulatorRequests(): Record<string, number>;
  /** SQS requests in 64 KB billing units, by operation (with `countRequests`). */
  sqsBilledUnits(): Record<string, number>;
  stop(): Promise<void>;
}

const DEFAULT_REGION = "us-east-1";
const MIN_NODE = [22, 6] as const;

function checkNodeVersion(): void {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) {
    throw new Error(
      `The local stack needs Node >= ${MIN_NODE.join(".")} (fauxqs uses node:sqlite), this is ${process.version}. ` +
        "Run it through npm scripts or npx, which use the node@22 devDependency.",
    );
  }
}

export async function startEmulators(opts: EmulatorOptions = {}): Promise<Emulators> {
  checkNodeVersion();
  const log = opts.log ?? (() => {});
  const region = opts.region ?? DEFAULT_REGION;

  const [dynamo, sqs] = await Promise.allSettled([startDynamoDbLocal(log), startFauxqsProcess(region, log)]);
  if (dynamo.status === "rejected" || sqs.status === "rejected") {
    await Promise.all([dynamo, sqs].map((r) => (r.status === "fulfilled" ? r.value.stop() : undefined)));
    throw dynamo.status === "rejected" ? dynamo.reason : (sqs as PromiseRejectedResult).reason;
  }
  const direct = {
    dynamodb: `http://127.0.0.1:${dynamo.value.port}`,
    sqs: `http://127.0.0.1:${sqs.value.port}`,
  };
  const proxies = opts.countRequests
    ? await Promise.all([startRequestCountProxy(direct.dynamodb), startRequestCountProxy(direct.sqs)])
    : [];
  const stopAll = async (): Promise<void> => {
    await Promise.all([...proxies.map((p) => p.stop()), dynamo.value.stop(), sqs.value.stop()]);
  };
  const [dynamoProxy, sqsProxy] = proxies;
  const endpoints = { dynamodb: dynamoProxy?.url ?? direct.dynamodb, sqs: sqsProxy?.url ?? direct.sqs };
  const credentials = { accessKeyId: "local", secretAccessKey: "local" };
  const dynamoClient = new DynamoDBClient({ endpoint: endpoints.dynamodb, region, credentials });
  const sqsClient = new SQSClient({ endpoint: endpoints.sqs, region, credentials });

  try {
    const tableDefs: Record<string, TableDef> = tables;
    const queueDefs: Record<QueueKey, QueueDef> = queues;
    const [, localQueues] = await Promise.all([
      Promise.all(Object.values(tableDefs).map((def) => createTable(dynamoClient, def))),
      Promise.all(
        (Object.keys(queueDefs) as QueueKey[]).map((key) =>
          createQueue(sqsClient, endpoints.sqs, key, queueDefs[key], opts.queueOverrides?.[key]),
        ),
      ),
    ]);

    const awsEnv: Record<string, string> = {
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    };
    for (const [key, def] of Object.entries(tableDefs)) awsEnv[tableEnvName(key)] = def.name;
    for (const queue of localQueues) {
      awsEnv[queueUrlEnvName(queue.key)] = queue.url;
      awsEnv[queueUrlEnvName(queue.key, true)] = queue.deadLetterUrl;
    }

    return {
      awsEnv,
      region,
      endpoints,
      queues: localQueues,
      pids: [dynamo.value.pid, sqs.value.pid],
      emulatorRequests: () => Object.assign({}, ...proxies.map((p) => p.counts())),
      sqsBilledUnits: () => sqsProxy?.units64k() ?? {},
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  } finally {
    dynamoClient.destroy();
    sqsClient.destroy();
  }
}

async function createTable(client: DynamoDBClient, def: TableDef): Promise<void> {
  const keySchema = (hash: KeyDef, range?: KeyDef): KeySchemaElement[] => [
    { AttributeName: hash.name, KeyType: "HASH" },
    ...(range ? [{ AttributeName: range.name, KeyType: "RANGE" as const }] : []),
  ];
  const attributes = new Map<string, AttributeDefinition>();
  for (const key of [
    def.hashKey,
    def.rangeKey,
    ...(def.indexes ?? []).flatMap((i) => [i.hashKey, i.rangeKey]),
  ]) {
    if (key) attributes.set(key.name, { AttributeName: key.name, AttributeType: key.type });
  }
  const indexes = def.indexes ?? [];
  await client.send(
    new CreateTableCommand({
      TableName: def.name,
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: keySchema(def.hashKey, def.rangeKey),
      AttributeDefinitions: [...attributes.values()],
      GlobalSecondaryIndexes:
        indexes.length > 0
          ? indexes.map((index) => ({
              IndexName: index.name,
              KeySchema: keySchema(index.hashKey, index.rangeKey),
              Projection: { ProjectionType: "ALL" },
            }))
          : undefined,
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: def.name });
  if (def.ttlAttribute) {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: def.name,
        TimeToLiveSpecification: { Enabled: true, AttributeName: def.ttlAttribute },
      }),
    );
  }
}

async function createQueue(
  client: SQSClient,
  endpoint: string,
  key: QueueKey,
  def: QueueDef,
  override: QueueOverride | undefined,
): Promise<LocalQueue> {
  const visibilityTimeoutSeconds = override?.visibilityTimeoutSeconds ?? def.visibilityTimeoutSeconds;
  const maxReceiveCount = override?.maxReceiveCount ?? def.maxReceiveCount;

  const deadLetter = await client.send(new CreateQueueCommand({ QueueName: def.deadLetterName }));
  const deadLetterUrl = loopbackQueueUrl(deadLetter.QueueUrl, endpoint);
  const deadLetterArn = await queueArn(client, deadLetterUrl);

  const main = await client.send(
    new CreateQueueCommand({
      QueueName: def.name,
      Attributes: { VisibilityTimeout: String(visibilityTimeoutSeconds) },
    }),
  );
  const url = loopbackQueueUrl(main.QueueUrl, endpoint);
  await client.send(
    new SetQueueAttributesCommand({
      QueueUrl: url,
      Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterArn, maxReceiveCount }) },
    }),
  );
  return {
    key,
    name: def.name,
    url,
    arn: await queueArn(client, url),
    deadLetterName: def.deadLetterName,
    deadLetterUrl,
    deadLetterArn,
    visibilityTimeoutSeconds,
    maxReceiveCount,
    consumer: def.consumer,
  };
}

/**
 * fauxqs answers CreateQueue with `http://sqs.<region>.localhost:<port>/…`. That host does not
 * resolve here, and the SDK (useQueueUrlAsEndpoint) would send requests to it instead of
 * AWS_ENDPOINT_URL_SQS, with a warning. fauxqs finds queues by the URL's path, so the endpoint's
 * origin is used instead, which is also how AWS queue URLs relate to the SQS endpoint.
 */
function loopbackQueueUrl(returned: string | undefined, endpoint: string): string {
  if (!returned) throw new Error("CreateQueue returned no QueueUrl");
  return new URL(new URL(returned).pathname, endpoint).toString();
}

async function queueArn(client: SQSClient, url: string): Promise<string> {
  const out = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }),
  );
  const arn = out.Attributes?.QueueArn;
  if (!arn) throw new Error(`No QueueArn for ${url}`);
  return arn;
}

async function startFauxqsProcess(
  region: string,
  log: (line: string) => void,
): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const entry = fileURLToPath(new URL("./fauxqs-process.ts", import.meta.url));
  const child = spawn(
    process.execPath,
    ["--experimental-strip-types", "--disable-warning=ExperimentalWarning", entry, region],
    // Own process group, as DynamoDB Local: the parent decides when the emulators go.
    { stdio: ["pipe", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "" }, detached: true },
  );
  const unregister = killOnExit(() => child.kill("SIGKILL"));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  void exited.then(unregister);

  const port = await new Promise<number>((resolve, reject) => {
    const output: string[] = [];
    const onLine = (line: string): void => {
      const match = /^LISTENING (\d+)$/.exec(line);
      if (match?.[1]) resolve(Number(match[1]));
      else {
        output.push(line);
        log(`[fauxqs] ${line}`);
      }
    };
    if (child.stdout) createInterface({ input: child.stdout }).on("line", onLine);
    if (child.stderr) createInterface({ input: child.stderr }).on("line", onLine);
    child.once("error", reject);
    child.once("exit", (code, signal) =>
      reject(new Error(`fauxqs exited (${signal ?? code}) before listening:\n${output.join("\n")}`)),
    );
  }).catch(async (error: unknown) => {
    child.kill("SIGKILL");
    await exited;
    throw error;
  });

  return {
    port,
    pid: child.pid ?? -1,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
