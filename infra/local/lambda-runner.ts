/**
 * Runs the functions of common/definitions.ts the way Lambda does: warm containers (child processes)
 * per function, Function URL payloads behind one loopback HTTP server, and SQS event source mappings
 * with ReportBatchItemFailures.
 *
 * Known deviations from AWS, kept because they do not change what our handlers observe:
 * - Containers are Node processes running an esbuild bundle of the handler, as SST deploys it. They
 *   are not frozen between invocations (timers keep running) and are not recycled while idle.
 * - Memory is not enforced: the V8 heap is capped near `memoryMb` and peak RSS is reported in stats().
 * - Init may take up to 10 s and does not count against the timeout; a failed init fails that
 *   invocation (Lambda retries the init inside the invocation).
 * - SQS: exactly `maximumConcurrency` pollers per queue, each long-polling 1 s and invoking what it
 *   received, so messages are never received beyond the concurrency (Lambda's pollers can, and then
 *   return them). Batching window: receives until full or the window closes; the 6 MB batch limit is
 *   not applied. Partial batch responses are always on (SST `partialResponses: true`).
 * - HTTP: one server routes by `httpRoutes` (AWS has one URL per function or an API in front);
 *   routeKey is `$default`; plain http; a request beyond the function's local concurrency waits for a
 *   container instead of getting 429; a failed, timed-out or malformed invocation answers 502
 *   `{"message":"Internal Server Error"}`; a text body that is not valid UTF-8 is passed base64.
 * - Streaming URLs (`streaming: true`, invoke mode RESPONSE_STREAM): the handler's bytes are sent on
 *   as they come, chunked, after the prelude's status and headers; a failure after that cuts the
 *   connection. The runner keeps what a slow client has not read yet instead of slowing the handler
 *   (Lambda's own buffering is not modelled). A handler whose kind does not match its URL's invoke
 *   mode (a buffered handler behind RESPONSE_STREAM or the reverse) answers 502 with a log line
 *   saying so: what AWS makes of such a mismatch is not imitated.
 * - Containers get only the given environment, Lambda's reserved variables, PATH and TMPDIR.
 * - The account id in ARNs is 000000000000.
 */

import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  functions as definedFunctions,
  schedules as definedSchedules,
  type FunctionDef,
  type HttpRouteDef,
  httpRoutes,
  type ScheduleDef,
} from "../../common/definitions.ts";
import { bundleEntry } from "./bundle.ts";
import { HTTP_INTEGRATION_CONTENT_TYPE } from "./container-protocol.ts";
import {
  type FunctionConfig,
  FunctionPool,
  type FunctionStats,
  MAX_PAYLOAD_BYTES,
  resolveHandler,
} from "./function-pool.ts";
import { fromFunctionUrlResult, streamedHead, toFunctionUrlEvent } from "./function-url.ts";
import { ScheduleSource } from "./schedule-source.ts";
import { countAwsRequests } from "./sdk-instrumentation.ts";
import { SqsEventSource } from "./sqs-event-source.ts";

export type { FunctionStats } from "./function-pool.ts";

/** Concurrency of functions that no queue consumes (the HTTP ones), unless overridden. */
export const DEFAULT_HTTP_CONCURRENCY = 4;
const INIT_TIMEOUT_MS = 10_000;
const DEFAULT_STOP_GRACE_MS = 10_000;
const DEFAULT_IDLE_TIMEOUT_MS = 120_000;
/** Lambda's limit on a streamed response. */
export const MAX_STREAMED_BYTES = 200 * 1024 * 1024;
const IDLE_POLL_MS = 100;

/** A queue the runner polls; emulators.ts's LocalQueue fits. */
export interface EventSourceQueue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly visibilityTimeoutSeconds: number;
  readonly consumer: {
    readonly function: string;
    readonly batchSize: number;
    readonly maximumBatchingWindowSeconds: number;
    readonly maximumConcurrency: number;
  };
}

export interface RunnerOptions {
  /**
   * The containers' environment (AWS endpoints, credentials, resource names, app settings). The runner
   * polls SQS through AWS_ENDPOINT_URL_SQS / AWS_REGION / AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
   */
  readonly env: Readonly<Record<string, string>>;
  readonly queues: readonly EventSourceQueue[];
  /** Defaults to `functions` of common/definitions.ts. */
  readonly functions?: Readonly<Record<string, FunctionDef>>;
  /** Defaults to `httpRoutes` of common/definitions.ts. */
  readonly routes?: readonly HttpRouteDef[];
  /** Defaults to `schedules` of common/definitions.ts. */
  readonly schedules?: Readonly<Record<string, ScheduleDef>>;
  /** Tests only: fire every schedule this often instead of its `everyMinutes`. */
  readonly scheduleEveryMs?: number;
  /** HTTP port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number;
  /** Maximum concurrent invocations per function name. */
  readonly concurrency?: Readonly<Partial<Record<string, number>>>;
  /** Where handler paths are resolved; defaults to the repository root. */
  readonly root?: string;
  readonly log?: (line: string) => void;
}

export interface RunnerStats {
  readonly functions: Record<string, FunctionStats>;
  /** AWS requests by `Service.Operation` made by all containers (see container-protocol.ts). */
  readonly awsRequests: Record<string, number>;
  /** The same, per function. */
  readonly awsRequestsByFunction: Record<string, Record<string, number>>;
  /** What each function's requests needed, by `<service>:<IAM action> <table or queue>`. */
  readonly awsAccessByFunction: Record<string, Record<string, number>>;
  /**
   * SQS requests of the event source mappings' pollers (receives, deletes) and of idle(): in AWS,
   * Lambda's pollers make the first kind.
   */
  readonly eventSourceRequests: Record<string, number>;
}

export interface LambdaRunner {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  stats(): RunnerStats;
  /**
   * Starts `containers` warm containers of a queue consumer by invoking it with empty batches at once,
   * as a burst of traffic would: the benchmark measures warm throughput this way.
   */
  prewarm(functionName: string, containers: number): Promise<void>;
  /** SIGKILLs every container of the function that is inside an invocation; returns how many. */
  killBusy(functionName: string): number;
  /**
   * Resolves once no invocation is in flight and the polled queues hold no visible or in-flight
   * message; messages sent with a delay (scheduled for later) do not count.
   */
  idle(opts?: { timeoutMs?: number }): Promise<void>;
  /** Container process ids, for leak checks. */
  pids(): number[];
  /** Stops polling and HTTP, lets in-flight invocations finish for up to `graceMs`, kills containers. */
  stop(opts?: { graceMs?: number }): Promise<void>;
}

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

function requireEnv(env: Readonly<Record<string, string>>, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`The runner needs ${name} in its env`);
  return value;
}

function routeMatches(route: HttpRouteDef, method: string, path: string): boolean {
  if (route.method && route.method.toUpperCase() !== method) return false;
  return route.prefix ? path.startsWith(route.path) : path === route.path;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reads the body, or returns undefined once it exceeds `limit` (the rest is drained unread). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  if (Number(req.headers["content-length"] ?? 0) > limit) {
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on("end", () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(bytes);
}

/** Lambda's reserved variables; like Lambda, the given env cannot override them. */
function containerEnv(
  fn: FunctionConfig,
  given: Readonly<Record<string, string>>,
  root: string,
  region: string,
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
    LANG: "en_US.UTF-8",
    ...given,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
    LAMBDA_TASK_ROOT: root,
    _HANDLER: fn.handler,
    TZ: ":UTC",
  };
}

/**
 * Answers a request to a RESPONSE_STREAM URL as the handler writes: the prelude's status and headers
 * once its end arrives (or status 200 with the stream's content type when it has no prelude), then
 * every chunk as it comes. Anything wrong before the head went out is a 502; after it, the
 * connection is cut, so the client never takes a cut-off body for a whole one.
 */
async function serveStreamed(
  pool: FunctionPool,
  event: unknown,
  res: ServerResponse,
  log: (line: string) => void,
  label: string,
): Promise<void> {
  let prelude: Buffer | undefined;
  let broken: string | undefined;
  let bytes = 0;
  const fail = (reason: string) => {
    broken ??= reason;
    if (res.headersSent) res.destroy();
  };
  const outcome = await pool.invoke(event, {
    start(contentType) {
      if (contentType === HTTP_INTEGRATION_CONTENT_TYPE) prelude = Buffer.alloc(0);
      else res.writeHead(200, { "content-type": contentType });
    },
    chunk(chunk) {
      if (broken) return;
      bytes += chunk.length;
      if (bytes > MAX_STREAMED_BYTES) return fail(`the response exceeded ${MAX_STREAMED_BYTES} bytes`);
      if (prelude === undefined) {
        res.write(chunk);
        return;
      }
      try {
        const split = streamedHead(Buffer.concat([prelude, chunk]));
        if (!split) {
          prelude = Buffer.concat([prelude, chunk]);
          return;
        }
        prelude = undefined;
        res.writeHead(split.head.statusCode, split.head.headers);
        if (split.rest.length > 0) res.write(split.rest);
      } catch (error) {
        fail(`returned an invalid response: ${(error as Error).message}`);
      }
    },
  });
  if (!outcome.ok) broken ??= `${outcome.kind}: ${outcome.error.errorMessage}`;
  else if (!outcome.streamed)
    broken ??= "the URL's invoke mode is RESPONSE_STREAM, but the handler does not stream";
  else if (prelude !== undefined) broken ??= "the stream ended inside its prelude";
  if (!broken) {
    res.end();
    return;
  }
  log(`[http] ${label}: ${broken}`);
  if (res.headersSent) res.destroy();
  else sendJson(res, 502, { message: "Internal Server Error" });
}

export async function startLambdaRunner(opts: RunnerOptions): Promise<LambdaRunner> {
  const log = opts.log ?? (() => {});
  const root = opts.root ?? repoRoot;
  const functionDefs: Readonly<Record<string, FunctionDef>> = opts.functions ?? definedFunctions;
  const region = requireEnv(opts.env, "AWS_REGION");

  const consumerConcurrency = new Map<string, number>();
  for (const queue of opts.queues) {
    const { function: name, maximumConcurrency } = queue.consumer;
    const fn = functionDefs[name];
    if (!fn) throw new Error(`Queue ${queue.name} is consumed by unknown function ${name}`);
    // AWS refuses such an event source mapping: messages would reappear while still being processed.
    if (queue.visibilityTimeoutSeconds < fn.timeoutSeconds) {
      throw new Error(
        `Queue visibility timeout ${queue.visibilityTimeoutSeconds} s of ${queue.name} is less than the ` +
          `timeout ${fn.timeoutSeconds} s of its consumer ${name}`,
      );
    }
    consumerConcurrency.set(name, Math.max(consumerConcurrency.get(name) ?? 0, maximumConcurrency));
  }

  // Bundled like SST bundles for Lambda, in parallel, before any container starts.
  const buildDir = mkdtempSync(join(tmpdir(), "wechat-fanout-bundles-"));
  const [containerEntry, ...modulePaths] = await Promise.all([
    bundleEntry(
      fileURLToPath(new URL("./lambda-container.ts", import.meta.url)),
      buildDir,
      "lambda-container",
    ),
    ...Object.entries(functionDefs).map(([name, def]) =>
      bundleEntry(resolveHandler(root, def.handler).modulePath, buildDir, name),
    ),
  ]);

  const pools = new Map<string, FunctionPool>();
  for (const [index, [name, def]] of Object.entries(functionDefs).entries()) {
    const config: FunctionConfig = { name, ...def };
    const maxConcurrency =
      opts.concurrency?.[name] ?? consumerConcurrency.get(name) ?? DEFAULT_HTTP_CONCURRENCY;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) {
      throw new Error(`Concurrency of ${name} must be a whole number ≥ 1, got ${maxConcurrency}`);
    }
    pools.set(
      name,
      new FunctionPool(config, {
        root,
        env: containerEnv(config, opts.env, root, region),
        maxConcurrency,
        region,
        initTimeoutMs: INIT_TIMEOUT_MS,
        log,
        containerEntry: containerEntry as string,
        modulePath: modulePaths[index] as string,
      }),
    );
  }

  const routes = (opts.routes ?? httpRoutes).filter((route) => {
    if (pools.has(route.function)) return true;
    log(`[http] skipping ${route.path}: no function ${route.function}`);
    return false;
  });

  const sqs = new SQSClient({
    endpoint: requireEnv(opts.env, "AWS_ENDPOINT_URL_SQS"),
    region,
    credentials: {
      accessKeyId: requireEnv(opts.env, "AWS_ACCESS_KEY_ID"),
      secretAccessKey: requireEnv(opts.env, "AWS_SECRET_ACCESS_KEY"),
    },
  });
  // Lambda's own pollers are billed as SQS requests too; the benchmark prices them.
  const eventSourceRequests = new Map<string, number>();
  sqs.middlewareStack.use(countAwsRequests(eventSourceRequests));
  const sources = opts.queues.map((queue) => {
    const pool = pools.get(queue.consumer.function) as FunctionPool;
    return new SqsEventSource(
      {
        queueName: queue.name,
        queueUrl: queue.url,
        queueArn: queue.arn,
        region,
        batchSize: queue.consumer.batchSize,
        maximumBatchingWindowSeconds: queue.consumer.maximumBatchingWindowSeconds,
        concurrency: pool.maxConcurrency,
      },
      pool,
      sqs,
      log,
    );
  });

  let httpInFlight = 0;
  const handleRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    httpInFlight += 1;
    try {
      const method = (req.method ?? "GET").toUpperCase();
      const path = (req.url ?? "/").split(/[?#]/, 1)[0] ?? "/";
      const route = routes.find((r) => routeMatches(r, method, path));
      const pool = route && pools.get(route.function);
      if (!pool) {
        req.resume();
        // The shape every function answers a 404 with.
        sendJson(res, 404, { error: "no such route" });
        return;
      }
      const body = await readBody(req, MAX_PAYLOAD_BYTES);
      if (!body) {
        sendJson(res, 413, { message: "Request Entity Too Large" }, { connection: "close" });
        return;
      }
      const event = toFunctionUrlEvent(req, body, { requestId: randomUUID() });
      if (functionDefs[pool.config.name]?.streaming) {
        await serveStreamed(pool, event, res, log, `${method} ${path} → ${pool.config.name}`);
        return;
      }
      const outcome = await pool.invoke(event);
      if (outcome.ok && outcome.streamed) {
        log(
          `[http] ${method} ${path} → ${pool.config.name}: the handler streams, but the URL's invoke mode is BUFFERED`,
        );
        sendJson(res, 502, { message: "Internal Server Error" });
        return;
      }
      if (!outcome.ok) {
        log(`[http] ${method} ${path} → ${pool.config.name} ${outcome.kind}: ${outcome.error.errorMessage}`);
        sendJson(res, 502, { message: "Internal Server Error" });
        return;
      }
      let response: ReturnType<typeof fromFunctionUrlResult>;
      try {
        response = fromFunctionUrlResult(outcome.result);
      } catch (error) {
        log(
          `[http] ${method} ${path} → ${pool.config.name} returned an invalid response: ${(error as Error).message}`,
        );
        sendJson(res, 502, { message: "Internal Server Error" });
        return;
      }
      // Function URLs answer with a length, not chunked; 1xx, 204 and 304 must not carry one.
      const bodyless =
        response.statusCode < 200 || response.statusCode === 204 || response.statusCode === 304;
      res.writeHead(response.statusCode, {
        ...response.headers,
        ...(bodyless ? {} : { "content-length": String(response.body.length) }),
      });
      res.end(bodyless ? undefined : response.body);
    } catch (error) {
      log(`[http] ${(error as Error).message}`);
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, { message: "Internal Server Error" });
    } finally {
      httpInFlight -= 1;
    }
  };

  const server: Server = createServer((req, res) => void handleRequest(req, res));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    sqs.destroy();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const scheduled = Object.entries(opts.schedules ?? definedSchedules).flatMap(([name, def]) => {
    const pool = pools.get(def.function);
    if (!pool) return [];
    const everyMs = opts.scheduleEveryMs ?? def.everyMinutes * 60_000;
    return [new ScheduleSource({ name, everyMs, event: def.event }, pool, log)];
  });
  for (const source of [...sources, ...scheduled]) source.start();

  const busy = (): number =>
    httpInFlight +
    [...pools.values()].reduce((n, pool) => n + pool.inFlight, 0) +
    [...sources, ...scheduled].reduce((n, source) => n + source.inFlight, 0);

  const queuesEmpty = async (): Promise<boolean> => {
    const counts = await Promise.all(
      opts.queues.map(async (queue) => {
        const out = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: queue.url,
            // Messages sent with a delay are work scheduled for later (the delivery-report tally's
            // passes), not work under way.
            AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
          }),
        );
        return Object.values(out.Attributes ?? {}).reduce((n, v) => n + Number(v), 0);
      }),
    );
    return counts.every((n) => n === 0);
  };

  let stopping: Promise<void> | undefined;
  const stop = async (graceMs: number): Promise<void> => {
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const sourcesStopped = Promise.all([...sources, ...scheduled].map((source) => source.stop()));
    const deadline = Date.now() + graceMs;
    while (busy() > 0 && Date.now() < deadline) await sleep(50);
    await Promise.all([...pools.values()].map((pool) => pool.stop()));
    await sourcesStopped;
    server.closeAllConnections();
    await serverClosed;
    sqs.destroy();
    rmSync(buildDir, { recursive: true, force: true });
  };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats() {
      const result: RunnerStats = {
        functions: {},
        awsRequests: {},
        awsRequestsByFunction: {},
        awsAccessByFunction: {},
        eventSourceRequests: Object.fromEntries(eventSourceRequests),
      };
      for (const [name, pool] of pools) {
        result.functions[name] = pool.stats();
        result.awsRequestsByFunction[name] = pool.awsRequests();
        result.awsAccessByFunction[name] = pool.awsAccess();
        for (const [operation, n] of Object.entries(pool.awsRequests())) {
          result.awsRequests[operation] = (result.awsRequests[operation] ?? 0) + n;
        }
      }
      return result;
    },
    async prewarm(functionName, containers) {
      const pool = pools.get(functionName);
      if (!pool) throw new Error(`No function ${functionName}`);
      await Promise.all(Array.from({ length: containers }, () => pool.invoke({ Records: [] })));
    },
    killBusy(functionName) {
      const pool = pools.get(functionName);
      if (!pool) throw new Error(`No function ${functionName}`);
      return pool.killBusy();
    },
    async idle({ timeoutMs = DEFAULT_IDLE_TIMEOUT_MS } = {}) {
      const deadline = Date.now() + timeoutMs;
      // Twice in a row: a handler may enqueue a message just as its invocation ends.
      for (let quiet = 0; quiet < 2; ) {
        quiet = busy() === 0 && (await queuesEmpty()) && busy() === 0 ? quiet + 1 : 0;
        if (quiet < 2) {
          if (Date.now() > deadline) throw new Error(`The runner was not idle within ${timeoutMs} ms`);
          await sleep(IDLE_POLL_MS);
        }
      }
    },
    pids() {
      return [...pools.values()].flatMap((pool) => pool.pids());
    },
    stop({ graceMs = DEFAULT_STOP_GRACE_MS } = {}) {
      stopping ??= stop(graceMs);
      return stopping;
    },
  };
}
