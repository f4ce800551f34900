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
 *   connection (streamed-response.ts). A handler whose kind does not match its URL's invoke mode (a
 *   buffered handler behind RESPONSE_STREAM or the reverse) answers 502 with a log line saying so:
 *   what AWS makes of such a mismatch is not imitated.
 * - Containers get only the given environment, Lambda's reserved variables, PATH and TMPDIR.
 * - The account id in ARNs is 000000000000.
 */

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SQSClient } from "@aws-sdk/client-sqs";
import {
  functions as definedFunctions,
  schedules as definedSchedules,
  type FunctionDef,
  type HttpRouteDef,
  httpRoutes,
  type ScheduleDef,
} from "../../common/definitions.ts";
import { localSqsClient } from "./aws-clients.ts";
import { bundleEntry } from "./bundle.ts";
import { type FunctionConfig, FunctionPool, resolveHandler } from "./function-pool.ts";
import { type LambdaRunner, RunnerHandle } from "./runner-handle.ts";
import { HttpFront, type LocalRoute } from "./runner-http.ts";
import { ScheduleSource } from "./schedule-source.ts";
import { countAwsRequests } from "./sdk-instrumentation.ts";
import { SqsEventSource } from "./sqs-event-source.ts";

export type { FunctionStats } from "./function-pool.ts";
export type { LambdaRunner, RunnerStats } from "./runner-handle.ts";

/** Concurrency of functions that no queue consumes (the HTTP ones), unless overridden. */
export const DEFAULT_HTTP_CONCURRENCY = 4;
const INIT_TIMEOUT_MS = 10_000;

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
  /** Routes the runner answers in-process, before `routes` (see runner-http.ts). */
  readonly localRoutes?: readonly LocalRoute[];
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

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export async function startLambdaRunner(opts: RunnerOptions): Promise<LambdaRunner> {
  const log = opts.log ?? (() => {});
  const root = opts.root ?? repoRoot;
  const functionDefs = opts.functions ?? definedFunctions;
  const region = requireEnv(opts.env, "AWS_REGION");

  const consumerConcurrency = checkEventSources(opts.queues, functionDefs);
  const bundles = await bundleFunctions(functionDefs, root);
  const pools = makePools(functionDefs, bundles, {
    root,
    region,
    env: opts.env,
    log,
    concurrency: (name) =>
      opts.concurrency?.[name] ?? consumerConcurrency.get(name) ?? DEFAULT_HTTP_CONCURRENCY,
  });
  const http = new HttpFront(
    routesToPools(opts.routes ?? httpRoutes, pools, log),
    pools,
    log,
    opts.localRoutes,
  );
  const sqs = localSqsClient(opts.env);
  // Lambda's own pollers are billed as SQS requests too; the benchmark prices them.
  const eventSourceRequests = new Map<string, number>();
  sqs.middlewareStack.use(countAwsRequests(eventSourceRequests));
  const queueSources = eventSources(opts.queues, pools, sqs, region, log);
  let port: number;
  try {
    port = await http.listen(opts.port ?? 0);
  } catch (error) {
    sqs.destroy();
    throw error;
  }
  const scheduled = scheduleSources(opts.schedules ?? definedSchedules, pools, opts.scheduleEveryMs, log);
  const sources = [...queueSources, ...scheduled];
  for (const source of sources) source.start();
  return new RunnerHandle({
    port,
    pools,
    http,
    sources,
    queueUrls: opts.queues.map((queue) => queue.url),
    sqs,
    eventSourceRequests,
    buildDir: bundles.buildDir,
  });
}

function requireEnv(env: Readonly<Record<string, string>>, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`The runner needs ${name} in its env`);
  return value;
}

/**
 * Refuses what AWS refuses in an event source mapping; returns the concurrency each consumer needs:
 * the largest `maximumConcurrency` of the queues it consumes.
 */
function checkEventSources(
  queues: readonly EventSourceQueue[],
  functionDefs: Readonly<Record<string, FunctionDef>>,
): Map<string, number> {
  const consumerConcurrency = new Map<string, number>();
  for (const queue of queues) {
    const { function: name, maximumConcurrency } = queue.consumer;
    const fn = functionDefs[name];
    if (!fn) throw new Error(`Queue ${queue.name} is consumed by unknown function ${name}`);
    // Messages would reappear while still being processed.
    if (queue.visibilityTimeoutSeconds < fn.timeoutSeconds) {
      throw new Error(
        `Queue visibility timeout ${queue.visibilityTimeoutSeconds} s of ${queue.name} is less than the ` +
          `timeout ${fn.timeoutSeconds} s of its consumer ${name}`,
      );
    }
    consumerConcurrency.set(name, Math.max(consumerConcurrency.get(name) ?? 0, maximumConcurrency));
  }
  return consumerConcurrency;
}

interface Bundles {
  readonly buildDir: string;
  readonly containerEntry: string;
  readonly modulePaths: ReadonlyMap<string, string>;
}

/** Bundled like SST bundles for Lambda, in parallel, before any container starts. */
async function bundleFunctions(
  functionDefs: Readonly<Record<string, FunctionDef>>,
  root: string,
): Promise<Bundles> {
  const buildDir = mkdtempSync(join(tmpdir(), "wechat-fanout-bundles-"));
  const names = Object.keys(functionDefs);
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
  return {
    buildDir,
    containerEntry: containerEntry as string,
    modulePaths: new Map(names.map((name, i) => [name, modulePaths[i] as string])),
  };
}

function makePools(
  functionDefs: Readonly<Record<string, FunctionDef>>,
  bundles: Bundles,
  opts: {
    root: string;
    region: string;
    env: Readonly<Record<string, string>>;
    log: (line: string) => void;
    concurrency: (name: string) => number;
  },
): Map<string, FunctionPool> {
  const pools = new Map<string, FunctionPool>();
  for (const [name, def] of Object.entries(functionDefs)) {
    const config: FunctionConfig = { name, ...def };
    const maxConcurrency = opts.concurrency(name);
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) {
      throw new Error(`Concurrency of ${name} must be a whole number ≥ 1, got ${maxConcurrency}`);
    }
    pools.set(
      name,
      new FunctionPool(config, {
        root: opts.root,
        env: containerEnv(config, opts.env, opts.root, opts.region),
        maxConcurrency,
        region: opts.region,
        initTimeoutMs: INIT_TIMEOUT_MS,
        log: opts.log,
        containerEntry: bundles.containerEntry,
        modulePath: bundles.modulePaths.get(name) as string,
      }),
    );
  }
  return pools;
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

/** The routes whose function runs here; the others are logged and left out. */
function routesToPools(
  routes: readonly HttpRouteDef[],
  pools: ReadonlyMap<string, FunctionPool>,
  log: (line: string) => void,
): HttpRouteDef[] {
  return routes.filter((route) => {
    if (pools.has(route.function)) return true;
    log(`[http] skipping ${route.path}: no function ${route.function}`);
    return false;
  });
}

function eventSources(
  queues: readonly EventSourceQueue[],
  pools: ReadonlyMap<string, FunctionPool>,
  sqs: SQSClient,
  region: string,
  log: (line: string) => void,
): SqsEventSource[] {
  return queues.map((queue) => {
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
}

/** The schedules whose function runs here. */
function scheduleSources(
  schedules: Readonly<Record<string, ScheduleDef>>,
  pools: ReadonlyMap<string, FunctionPool>,
  everyMsOverride: number | undefined,
  log: (line: string) => void,
): ScheduleSource[] {
  return Object.entries(schedules).flatMap(([name, def]) => {
    const pool = pools.get(def.function);
    if (!pool) return [];
    const everyMs = everyMsOverride ?? def.everyMinutes * 60_000;
    return [new ScheduleSource({ name, everyMs, event: def.event }, pool, log)];
  });
}
