import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { DescribeTableCommand, DescribeTimeToLiveCommand } from "@aws-sdk/client-dynamodb";
import {
  GetQueueAttributesCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEventV2, SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type QueueDef, queues, type TableDef, tables } from "../../common/definitions.ts";
import { queueUrlEnvName, tableEnvName } from "../../common/env-names.ts";
import { localDynamoClient, localSqsClient } from "../../infra/local/aws-clients.ts";
import { DEFAULT_HTTP_CONCURRENCY } from "../../infra/local/lambda-runner.ts";
import { type LocalStack, startLocalStack } from "../../infra/local/stack.ts";
import type { FlakyCommand } from "../fixtures/flaky-queue.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const FUNCTION_TIMEOUT_S = 2;
const VISIBILITY_S = 2;
const FANOUT_VISIBILITY_S = 6;
const SENDER_CONCURRENCY = 3;

const fixtureFunctions = {
  // A buffered handler: its URL is BUFFERED here (the admin function's own is RESPONSE_STREAM).
  admin: { handler: "test/fixtures/echo-http.handler", timeoutSeconds: FUNCTION_TIMEOUT_S, streaming: false },
  notify: { handler: "test/fixtures/echo-http.handler" },
  sender: { handler: "test/fixtures/flaky-queue.handler", timeoutSeconds: FUNCTION_TIMEOUT_S },
  fanout: { handler: "test/fixtures/flaky-queue.handler", timeoutSeconds: FUNCTION_TIMEOUT_S },
};

interface JournalEntry {
  readonly fn: string;
  readonly phase: "start" | "end";
  readonly pid: number;
  readonly t: number;
  readonly requestId: string;
  readonly invocations: number;
  readonly records?: SQSRecord[];
}

interface Echo {
  readonly pid: number;
  readonly invocations: number;
  readonly sha256: string;
  readonly event: APIGatewayProxyEventV2;
  readonly remainingMs: number;
  readonly functionName: string;
  readonly memoryLimitInMB: string;
  readonly env: Record<string, string | undefined>;
}

let workDir: string;
let journalFile: string;
let stack: LocalStack;
/** A second stack at the same time, with the definitions' queue settings untouched. */
let plain: LocalStack;
let sqs: SQSClient;

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}

function journal(): JournalEntry[] {
  return readFileSync(journalFile, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as JournalEntry);
}

function commandOf(record: SQSRecord): FlakyCommand {
  return JSON.parse(record.body) as FlakyCommand;
}

/** Invocations (start entries) that carried messages tagged `tag`. */
function batchesOf(tag: string): JournalEntry[] {
  return journal().filter((e) => e.phase === "start" && e.records?.some((r) => commandOf(r).tag === tag));
}

function recordsOf(tag: string): SQSRecord[] {
  return batchesOf(tag).flatMap((e) => (e.records ?? []).filter((r) => commandOf(r).tag === tag));
}

/** Receive counts of each message tagged `tag`, in delivery order. */
function receiveCounts(tag: string): Map<string, string[]> {
  const counts = new Map<string, string[]>();
  for (const record of recordsOf(tag)) {
    counts.set(record.messageId, [
      ...(counts.get(record.messageId) ?? []),
      record.attributes.ApproximateReceiveCount,
    ]);
  }
  return counts;
}

async function send(
  queueKey: keyof typeof queues,
  commands: readonly FlakyCommand[],
  attributes?: Record<string, MessageAttributeValue>,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < commands.length; i += 10) {
    const out = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.awsEnv[queueUrlEnvName(queueKey)],
        Entries: commands.slice(i, i + 10).map((command, j) => ({
          Id: String(j),
          MessageBody: JSON.stringify(command),
          MessageAttributes: attributes,
        })),
      }),
    );
    expect(out.Failed ?? []).toEqual([]);
    const sorted = [...(out.Successful ?? [])].sort((a, b) => Number(a.Id) - Number(b.Id));
    ids.push(...sorted.map((s) => s.MessageId ?? ""));
  }
  return ids;
}

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** node:http rather than fetch: duplicate request headers and exact bytes both ways. */
function rawRequest(
  url: string,
  opts: { method?: string; headers?: string[]; body?: Buffer } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // A raw header list replaces Node's defaults, Host and Content-Length included.
    const headers = [
      "Host",
      new URL(url).host,
      ...(opts.body ? ["Content-Length", String(opts.body.length)] : []),
      ...(opts.headers ?? []),
    ];
    const req = request(url, { method: opts.method ?? "GET", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

async function echo(path: string, opts: Parameters<typeof rawRequest>[1] = {}): Promise<Echo> {
  const res = await rawRequest(`${stack.baseUrl}${path}`, opts);
  expect(res.status).toBeLessThan(300);
  return JSON.parse(res.body.toString("utf8")) as Echo;
}

/** Process ids below `pid`, from /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // Exited while listing.
    }
  }
  const out: number[] = [];
  const walk = (parent: number): void => {
    for (const child of children.get(parent) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(pid);
  return out;
}

/** Alive and not a zombie waiting to be reaped. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Local addresses of the TCP sockets listening on `port` (hex, as /proc/net/tcp* shows them). */
function listenAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  return ["/proc/net/tcp", "/proc/net/tcp6"].flatMap((file) =>
    readFileSync(file, "utf8")
      .split("\n")
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((cols) => cols[3] === "0A" && cols[1]?.endsWith(`:${hexPort}`))
      .map((cols) => (cols[1] ?? "").split(":")[0] ?? ""),
  );
}

const LOOPBACK = new Set([
  "0100007F", // 127.0.0.1
  "0000000000000000FFFF00000100007F", // ::ffff:127.0.0.1
  "00000000000000000000000001000000", // ::1
]);

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "local-stack-test-"));
  journalFile = join(workDir, "journal.jsonl");
  writeFileSync(journalFile, "");
  [stack, plain] = await Promise.all([
    startLocalStack({
      env: { APP_SETTING: "from-test", FIXTURE_JOURNAL: journalFile },
      queueOverrides: {
        send: { visibilityTimeoutSeconds: VISIBILITY_S },
        // Room for a slow cold start plus the concurrency test's 1 s batches before a redelivery.
        fanout: { visibilityTimeoutSeconds: FANOUT_VISIBILITY_S },
      },
      functionOverrides: fixtureFunctions,
      concurrency: { sender: SENDER_CONCURRENCY },
    }),
    startLocalStack({
      env: { FIXTURE_JOURNAL: join(workDir, "plain.jsonl") },
      functionOverrides: { admin: fixtureFunctions.admin },
    }),
  ]);
  sqs = localSqsClient(stack.awsEnv);
});

afterAll(async () => {
  sqs?.destroy();
  await Promise.all([stack?.stop(), plain?.stop()]);
  rmSync(workDir, { recursive: true, force: true });
});

describe("emulators", () => {
  test("create every table with the definitions' keys, on-demand billing and TTL", async () => {
    const dynamo = localDynamoClient(plain.awsEnv);
    try {
      for (const [key, def] of Object.entries(tables as Record<string, TableDef>)) {
        expect(plain.awsEnv[tableEnvName(key)]).toBe(def.name);
        const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: def.name }));
        expect(Table?.KeySchema).toEqual([
          { AttributeName: def.hashKey.name, KeyType: "HASH" },
          ...(def.rangeKey ? [{ AttributeName: def.rangeKey.name, KeyType: "RANGE" }] : []),
        ]);
        for (const k of [def.hashKey, def.rangeKey]) {
          if (k)
            expect(Table?.AttributeDefinitions).toContainEqual({
              AttributeName: k.name,
              AttributeType: k.type,
            });
        }
        expect(Table?.BillingModeSummary?.BillingMode).toBe("PAY_PER_REQUEST");
        // DynamoDB lists a table's indexes in no particular order.
        expect(Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort()).toEqual(
          def.indexes?.map((i) => i.name).sort(),
        );
        const ttl = await dynamo.send(new DescribeTimeToLiveCommand({ TableName: def.name }));
        if (def.ttlAttribute) {
          expect(ttl.TimeToLiveDescription).toMatchObject({
            TimeToLiveStatus: "ENABLED",
            AttributeName: def.ttlAttribute,
          });
        } else {
          expect(ttl.TimeToLiveDescription?.TimeToLiveStatus).toBe("DISABLED");
        }
      }
    } finally {
      dynamo.destroy();
    }
  });

  test("create every queue with its dead-letter queue, visibility timeout and redrive policy", async () => {
    const client = localSqsClient(plain.awsEnv);
    try {
      for (const [key, def] of Object.entries(queues as Record<string, QueueDef>)) {
        const url = plain.awsEnv[queueUrlEnvName(key)];
        const dlqUrl = plain.awsEnv[queueUrlEnvName(key, true)];
        expect(url).toBe(`${plain.awsEnv.AWS_ENDPOINT_URL_SQS}/000000000000/${def.name}`);
        expect(dlqUrl).toBe(`${plain.awsEnv.AWS_ENDPOINT_URL_SQS}/000000000000/${def.deadLetterName}`);
        const main = await client.send(
          new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }),
        );
        const dlq = await client.send(
          new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["All"] }),
        );
        expect(main.Attributes?.VisibilityTimeout).toBe(String(def.visibilityTimeoutSeconds));
        expect(JSON.parse(main.Attributes?.RedrivePolicy ?? "{}")).toEqual({
          deadLetterTargetArn: dlq.Attributes?.QueueArn,
          maxReceiveCount: def.maxReceiveCount,
        });
      }
    } finally {
      client.destroy();
    }
    const overridden = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: stack.awsEnv.QUEUE_URL_SEND,
        AttributeNames: ["VisibilityTimeout"],
      }),
    );
    expect(overridden.Attributes?.VisibilityTimeout).toBe(String(VISIBILITY_S));
  });

  test("give the functions the AWS settings and resource names", () => {
    expect(Object.keys(stack.awsEnv).sort()).toEqual(
      [
        "AWS_ACCESS_KEY_ID",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_REGION",
        "AWS_SECRET_ACCESS_KEY",
        "QUEUE_URL_FANOUT",
        "QUEUE_URL_FANOUT_DLQ",
        "QUEUE_URL_SEND",
        "QUEUE_URL_SEND_DLQ",
        "QUEUE_URL_SYNC",
        "QUEUE_URL_SYNC_DLQ",
        "QUEUE_URL_TOKEN_REFRESH",
        "QUEUE_URL_TOKEN_REFRESH_DLQ",
        "QUEUE_URL_WEBHOOK",
        "QUEUE_URL_WEBHOOK_DLQ",
        "TABLE_BROADCASTS",
        "TABLE_CREDITS",
        "TABLE_DELIVERIES",
        "TABLE_INBOX",
        "TABLE_POSTS",
        "TABLE_SUBSCRIBERS",
        "TABLE_SYNCS",
        "TABLE_TASKS",
        "TABLE_TASK_RECIPIENTS",
        "TABLE_TOKENS",
      ].sort(),
    );
    expect(stack.env).toMatchObject({ ...stack.awsEnv, APP_SETTING: "from-test" });
  });

  test("listen on 127.0.0.1 only, like the HTTP server", () => {
    for (const url of [
      stack.awsEnv.AWS_ENDPOINT_URL_DYNAMODB,
      stack.awsEnv.AWS_ENDPOINT_URL_SQS,
      stack.baseUrl,
    ]) {
      const addresses = listenAddresses(Number(new URL(url ?? "").port));
      expect(addresses.length, url).toBeGreaterThan(0);
      for (const address of addresses)
        expect(LOOPBACK.has(address), `${url} listens on ${address}`).toBe(true);
    }
  });

  test("run twice at once on different ports", async () => {
    expect(plain.baseUrl).not.toBe(stack.baseUrl);
    expect(plain.awsEnv.AWS_ENDPOINT_URL_DYNAMODB).not.toBe(stack.awsEnv.AWS_ENDPOINT_URL_DYNAMODB);
    expect(plain.awsEnv.AWS_ENDPOINT_URL_SQS).not.toBe(stack.awsEnv.AWS_ENDPOINT_URL_SQS);
    const [a, b] = await Promise.all([
      echo("/api/which"),
      rawRequest(`${plain.baseUrl}/api/which`).then((r) => JSON.parse(r.body.toString()) as Echo),
    ]);
    expect(a.pid).not.toBe(b.pid);
    expect(a.env.QUEUE_URL_SEND).toBe(stack.awsEnv.QUEUE_URL_SEND);
    expect(b.env.QUEUE_URL_SEND).toBe(plain.awsEnv.QUEUE_URL_SEND);
  });
});

describe("HTTP like a Function URL", () => {
  test("passes the request through as a 2.0 event and maps the structured result back", async () => {
    const body = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('{"content":"供应：二手叉车 🚜","note":"line1\r\nline2"}\n', "utf8"),
    ]);
    const res = await rawRequest(`${stack.baseUrl}/api/echo?x=1&x=2&y=%E4%B8%AD&empty=&plus=a+b&status=201`, {
      method: "POST",
      headers: [
        "Content-Type",
        "application/json; charset=utf-8",
        "X-Dup",
        "a",
        "X-Dup",
        "b",
        "X-Mixed-Case",
        "Yes",
        "User-Agent",
        "local-stack-test",
        "Cookie",
        "c1=v1; c2=v2",
      ],
      body,
    });
    expect(res.status).toBe(201);
    expect(res.headers["content-type"]).toBe("application/json");
    expect(res.headers["x-body-sha256"]).toBe(sha256(body));
    expect(res.headers["x-count"]).toMatch(/^\d+$/);
    expect(res.headers["set-cookie"]).toEqual(["a=1; Path=/", "b=2; HttpOnly"]);
    expect(res.headers["content-length"]).toBe(String(res.body.length));

    const {
      event,
      sha256: seen,
      remainingMs,
      functionName,
      memoryLimitInMB,
      env,
    } = JSON.parse(res.body.toString("utf8")) as Echo;
    expect(seen).toBe(sha256(body));
    expect(event.isBase64Encoded).toBe(false);
    expect(Buffer.from(event.body ?? "", "utf8").equals(body)).toBe(true);
    expect(event).toMatchObject({
      version: "2.0",
      routeKey: "$default",
      rawPath: "/api/echo",
      rawQueryString: "x=1&x=2&y=%E4%B8%AD&empty=&plus=a+b&status=201",
      cookies: ["c1=v1", "c2=v2"],
      queryStringParameters: { x: "1,2", y: "中", empty: "", plus: "a b", status: "201" },
      requestContext: {
        accountId: "anonymous",
        routeKey: "$default",
        stage: "$default",
        http: {
          method: "POST",
          path: "/api/echo",
          protocol: "HTTP/1.1",
          sourceIp: "127.0.0.1",
          userAgent: "local-stack-test",
        },
      },
    });
    expect(event.requestContext.timeEpoch).toBeGreaterThan(Date.now() - 60_000);
    expect(event.requestContext.time).toMatch(/^\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
    expect(event.headers).toMatchObject({
      "content-type": "application/json; charset=utf-8",
      "x-dup": "a,b",
      "x-mixed-case": "Yes",
      "x-forwarded-for": "127.0.0.1",
      "content-length": String(body.length),
    });
    expect(Object.keys(event.headers).every((name) => name === name.toLowerCase())).toBe(true);
    expect(event.headers.cookie).toBeUndefined();

    expect(functionName).toBe("admin");
    expect(memoryLimitInMB).toBe("256");
    expect(remainingMs).toBeGreaterThan(0);
    expect(remainingMs).toBeLessThanOrEqual(FUNCTION_TIMEOUT_S * 1000);
    expect(env).toEqual({
      AWS_LAMBDA_FUNCTION_NAME: "admin",
      TABLE_SUBSCRIBERS: "Subscribers",
      QUEUE_URL_SEND: stack.awsEnv.QUEUE_URL_SEND,
      APP_SETTING: "from-test",
      // Only the given environment reaches a container, not the parent's.
      HOME: undefined,
    });
  });

  test("routes POST /wechatpay/notify to notify and leaves out a GET", async () => {
    const notified = await echo("/wechatpay/notify", { method: "POST", body: Buffer.from("{}") });
    expect(notified.functionName).toBe("notify");
    const wrongMethod = await rawRequest(`${stack.baseUrl}/wechatpay/notify`);
    expect(wrongMethod.status).toBe(404);
  });

  test("passes binary bodies base64-encoded and returns them byte for byte", async () => {
    const bytes = Buffer.concat([randomBytes(64 * 1024), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x00])]);
    const echoed = await rawRequest(`${stack.baseUrl}/api/bytes?mode=binary`, {
      method: "PUT",
      headers: ["Content-Type", "application/octet-stream"],
      body: bytes,
    });
    expect(echoed.status).toBe(200);
    expect(echoed.headers["content-type"]).toBe("application/octet-stream");
    expect(echoed.body.equals(bytes)).toBe(true);

    const untyped = await echo("/api/bytes", { method: "POST", body: bytes });
    expect(untyped.event.isBase64Encoded).toBe(true);
    expect(untyped.sha256).toBe(sha256(bytes));

    // Declared as text but not UTF-8: still base64, so a signature over the bytes still verifies.
    const mislabelled = await echo("/api/bytes", {
      method: "POST",
      headers: ["Content-Type", "text/xml"],
      body: bytes,
    });
    expect(mislabelled.event.isBase64Encoded).toBe(true);
    expect(mislabelled.sha256).toBe(sha256(bytes));

    const form = Buffer.from("a=1&b=%E4%B8%AD", "utf8");
    const formEcho = await echo("/api/form", {
      method: "POST",
      headers: ["Content-Type", "application/x-www-form-urlencoded"],
      body: form,
    });
    expect(formEcho.event).toMatchObject({ isBase64Encoded: false, body: "a=1&b=%E4%B8%AD" });
  });

  test("infers 200 JSON from plain results and answers errors, unknown routes and big bodies like AWS", async () => {
    const text = await rawRequest(`${stack.baseUrl}/api/x?mode=string`);
    expect(text.status).toBe(200);
    expect(text.headers["content-type"]).toBe("application/json");
    expect(text.body.toString()).toBe("plain string result");

    const object = await rawRequest(`${stack.baseUrl}/api/x?mode=object`);
    expect(object.status).toBe(200);
    expect(JSON.parse(object.body.toString())).toEqual({ hello: "world", n: 1 });

    for (const mode of ["throw", "invalid"]) {
      const failed = await rawRequest(`${stack.baseUrl}/api/x?mode=${mode}`);
      expect(failed.status, mode).toBe(502);
      expect(JSON.parse(failed.body.toString())).toEqual({ message: "Internal Server Error" });
    }

    const unknown = await rawRequest(`${stack.baseUrl}/nowhere`);
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body.toString())).toEqual({ error: "no such route" });

    const tooBig = await rawRequest(`${stack.baseUrl}/api/x`, {
      method: "POST",
      headers: ["Content-Type", "application/octet-stream"],
      body: Buffer.alloc(6 * 1024 * 1024 + 1),
    });
    expect(tooBig.status).toBe(413);
  });

  test("keeps a container warm with its module state; a timeout kills it", async () => {
    const first = await echo("/api/warm");
    const second = await echo("/api/warm");
    expect(second.pid).toBe(first.pid);
    expect(second.invocations).toBe(first.invocations + 1);

    const before = stack.runner.stats().functions.admin;
    const slow = rawRequest(`${stack.baseUrl}/api/warm?mode=sleep&ms=10000`);
    const busyPid = await waitFor(() => {
      const entry = journal().findLast((e) => e.fn === "admin");
      return entry && entry.invocations === second.invocations + 1 ? entry.pid : undefined;
    });
    const timedOut = await slow;
    expect(timedOut.status).toBe(502);
    expect(busyPid).toBe(second.pid);
    await waitFor(() => (isRunning(busyPid) ? undefined : true));

    const after = stack.runner.stats().functions.admin;
    expect(after?.timeouts).toBe((before?.timeouts ?? 0) + 1);
    expect(after?.errors).toBe((before?.errors ?? 0) + 1);
    expect(after?.peakRssBytes).toBeGreaterThan(10 * 1024 * 1024);
    const next = await echo("/api/warm");
    expect(next.pid).not.toBe(busyPid);
  });

  test("sums the AWS request counts the containers publish", async () => {
    const before = stack.runner.stats().awsRequests["Fixture.Echo"] ?? 0;
    await echo("/api/count");
    await echo("/wechatpay/notify", { method: "POST", body: Buffer.from("{}") });
    expect(stack.runner.stats().awsRequests["Fixture.Echo"]).toBe(before + 2);
  });

  test("serves concurrent requests from several containers, up to the function's concurrency", async () => {
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: DEFAULT_HTTP_CONCURRENCY + 2 }, () => echo("/api/slow?mode=sleep&ms=800")),
    );
    const elapsed = Date.now() - started;
    expect(new Set(answers.map((a) => a.pid)).size).toBe(DEFAULT_HTTP_CONCURRENCY);
    // Two rounds: the last two requests waited for a container.
    expect(elapsed).toBeGreaterThanOrEqual(1600);
    expect(stack.runner.stats().functions.admin?.peakConcurrency).toBe(DEFAULT_HTTP_CONCURRENCY);
  });
});

describe("SQS event source", () => {
  test("delivers a batch as an SQSEvent and deletes it after success", async () => {
    const tag = randomUUID();
    const attributes: Record<string, MessageAttributeValue> = {
      kind: { DataType: "String", StringValue: "chunk" },
      count: { DataType: "Number", StringValue: "3" },
      blob: { DataType: "Binary", BinaryValue: Buffer.from([1, 2, 3]) },
    };
    const ids = await send("send", [{ tag }, { tag }, { tag }], attributes);
    await stack.runner.idle({ timeoutMs: 20_000 });

    const batches = batchesOf(tag);
    expect(batches).toHaveLength(1);
    const records = recordsOf(tag);
    expect(records.map((r) => r.messageId).sort()).toEqual([...ids].sort());
    for (const record of records) {
      expect(record).toMatchObject({
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:SendQueue",
        awsRegion: "us-east-1",
        body: JSON.stringify({ tag }),
        md5OfBody: createHash("md5").update(record.body).digest("hex"),
        messageAttributes: {
          kind: { stringValue: "chunk", stringListValues: [], binaryListValues: [], dataType: "String" },
          count: { stringValue: "3", stringListValues: [], binaryListValues: [], dataType: "Number" },
          blob: { binaryValue: "AQID", stringListValues: [], binaryListValues: [], dataType: "Binary" },
        },
      });
      expect(record.receiptHandle).not.toBe("");
      expect(record.md5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
      expect(record.attributes.ApproximateReceiveCount).toBe("1");
      expect(Number(record.attributes.SentTimestamp)).toBeGreaterThan(Date.now() - 60_000);
      expect(Number(record.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(
        Number(record.attributes.SentTimestamp),
      );
      expect(record.attributes.SenderId).toBeTruthy();
    }
  });

  test("batchItemFailures: only the failed message comes back, received twice", async () => {
    const tag = randomUUID();
    const [okA, failing, okB] = await send("send", [{ tag }, { tag, action: "failOnce" }, { tag }]);
    await stack.runner.idle({ timeoutMs: 20_000 });
    const counts = receiveCounts(tag);
    expect(counts.get(okA ?? "")).toEqual(["1"]);
    expect(counts.get(okB ?? "")).toEqual(["1"]);
    expect(counts.get(failing ?? "")).toEqual(["1", "2"]);
  });

  test("a throwing handler, or an unknown itemIdentifier, returns the whole batch", async () => {
    for (const action of ["throwOnce", "unknownIdOnce"] as const) {
      const tag = randomUUID();
      const ids = await send("send", [{ tag }, { tag, action }, { tag }]);
      await stack.runner.idle({ timeoutMs: 20_000 });
      const counts = receiveCounts(tag);
      for (const id of ids) expect(counts.get(id), action).toEqual(["1", "2"]);
    }
  });

  test("honours maximumConcurrency, from the definitions or overridden", async () => {
    // Warm the sender's containers first: a cold start plus a 1 s batch could outlast its 2 s
    // visibility timeout and cause a redelivery, as it would in AWS.
    const warmTag = randomUUID();
    await send(
      "send",
      Array.from({ length: 3 * queues.send.consumer.batchSize }, () => ({
        tag: warmTag,
        action: "sleep" as const,
        ms: 300,
      })),
    );
    await stack.runner.idle({ timeoutMs: 20_000 });

    const fanoutTag = randomUUID();
    const senderTag = randomUUID();
    // Enough batches, long enough, that every poller overlaps the others.
    await Promise.all([
      send(
        "fanout",
        Array.from({ length: 8 }, () => ({ tag: fanoutTag, action: "sleep" as const, ms: 1000 })),
      ),
      send(
        "send",
        Array.from({ length: 30 }, () => ({ tag: senderTag, action: "sleep" as const, ms: 1000 })),
      ),
    ]);
    await stack.runner.idle({ timeoutMs: 30_000 });

    const peakOverlap = (tag: string): number => {
      const ids = new Set(batchesOf(tag).map((e) => e.requestId));
      const events = journal()
        .filter((e) => ids.has(e.requestId))
        .map((e) => ({ t: e.t, delta: e.phase === "start" ? 1 : -1 }))
        .sort((a, b) => a.t - b.t || a.delta - b.delta);
      let current = 0;
      let peak = 0;
      for (const { delta } of events) {
        current += delta;
        peak = Math.max(peak, current);
      }
      return peak;
    };
    expect(recordsOf(fanoutTag)).toHaveLength(8);
    expect(recordsOf(senderTag)).toHaveLength(30);
    expect(Math.max(...batchesOf(fanoutTag).map((b) => b.records?.length ?? 0))).toBe(
      queues.fanout.consumer.batchSize,
    );
    expect(Math.max(...batchesOf(senderTag).map((b) => b.records?.length ?? 0))).toBeLessThanOrEqual(
      queues.send.consumer.batchSize,
    );
    expect(peakOverlap(fanoutTag)).toBe(queues.fanout.consumer.maximumConcurrency);
    expect(peakOverlap(senderTag)).toBe(SENDER_CONCURRENCY);
    const stats = stack.runner.stats().functions;
    expect(stats.fanout?.peakConcurrency).toBe(queues.fanout.consumer.maximumConcurrency);
    expect(stats.sender?.peakConcurrency).toBe(SENDER_CONCURRENCY);
  });

  test("killBusy: the message reappears after the visibility timeout in a new container", async () => {
    await stack.runner.idle({ timeoutMs: 20_000 });
    const crashesBefore = stack.runner.stats().functions.sender?.crashes ?? 0;
    const tag = randomUUID();
    const [id] = await send("send", [{ tag, action: "hangOnce" }]);
    const first = await waitFor(() => batchesOf(tag)[0]);
    expect(stack.runner.killBusy("sender")).toBe(1);
    const killedAt = Date.now();
    const second = await waitFor(() => batchesOf(tag)[1], 15_000);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(VISIBILITY_S * 1000 - 1000);
    expect(second.pid).not.toBe(first.pid);
    expect(isRunning(first.pid)).toBe(false);
    expect(second.records?.[0]).toMatchObject({
      messageId: id,
      attributes: { ApproximateReceiveCount: "2" },
    });
    await stack.runner.idle({ timeoutMs: 20_000 });
    expect(stack.runner.stats().functions.sender?.crashes).toBe(crashesBefore + 1);
  });

  test("a timed-out invocation kills its container and the batch is retried", async () => {
    const before = stack.runner.stats().functions.sender;
    const tag = randomUUID();
    await send("send", [{ tag, action: "sleepOnce", ms: 10_000 }]);
    await stack.runner.idle({ timeoutMs: 20_000 });
    const [first, second] = batchesOf(tag);
    expect(second?.records?.[0]?.attributes.ApproximateReceiveCount).toBe("2");
    expect(second?.pid).not.toBe(first?.pid);
    expect(isRunning(first?.pid ?? 0)).toBe(false);
    const after = stack.runner.stats().functions.sender;
    expect(after?.timeouts).toBe((before?.timeouts ?? 0) + 1);
    expect(after?.crashes).toBe(before?.crashes);
  });

  test("SQS moves a poison message to the dead-letter queue after maxReceiveCount", async () => {
    const tag = randomUUID();
    const [id] = await send("send", [{ tag, action: "throw" }]);
    const dead = await waitFor(async () => {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: stack.awsEnv.QUEUE_URL_SEND_DLQ,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ["All"],
        }),
      );
      return out.Messages?.[0];
    }, 40_000);
    expect(dead.MessageId).toBe(id);
    expect(recordsOf(tag).map((r) => r.attributes.ApproximateReceiveCount)).toEqual(
      Array.from({ length: queues.send.maxReceiveCount }, (_, i) => String(i + 1)),
    );
    await stack.runner.idle({ timeoutMs: 20_000 });
  });
});

describe("process cleanup", () => {
  test("stop() leaves no process behind", async () => {
    const tree = [...stack.pids(), ...plain.pids()].flatMap((pid) => [pid, ...descendants(pid)]);
    // Two emulators per stack and at least the admin and sender containers of `stack`.
    expect(tree.length).toBeGreaterThanOrEqual(6);
    expect(tree.every(isRunning)).toBe(true);
    await Promise.all([stack.stop(), plain.stop()]);
    expect(tree.filter(isRunning)).toEqual([]);
  });

  test.each(["SIGTERM", "SIGKILL"] as const)(
    "a parent ended by %s without stop() takes its emulators and containers along",
    async (signal) => {
      const parent: ChildProcess = spawn(
        process.execPath,
        ["--import", "tsx", join(root, "test/fixtures/stack-process.ts")],
        { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
      );
      const exited = new Promise<void>((resolve) => parent.once("exit", () => resolve()));
      try {
        await new Promise<void>((resolve, reject) => {
          if (!parent.stdout) return reject(new Error("no stdout"));
          createInterface({ input: parent.stdout }).on("line", (line) => {
            if (line.startsWith("READY ")) resolve();
          });
          parent.once("exit", (code) => reject(new Error(`stack-process exited early (${code})`)));
        });
        const tree = descendants(parent.pid ?? -1);
        // java, fauxqs and one container (plus esbuild services when tsx has no cached transform).
        expect(tree.length).toBeGreaterThanOrEqual(3);
        parent.kill(signal);
        await exited;
        await waitFor(() => (tree.some(isRunning) ? undefined : true), 10_000);
      } finally {
        parent.kill("SIGKILL");
        await exited;
      }
    },
  );
});
