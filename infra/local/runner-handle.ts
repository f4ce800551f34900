/** The running Lambda runner that startLambdaRunner (lambda-runner.ts) returns: its stats and its stop. */
import { rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { FunctionPool, FunctionStats } from "./function-pool.ts";
import type { HttpFront } from "./runner-http.ts";
import type { ScheduleSource } from "./schedule-source.ts";
import type { SqsEventSource } from "./sqs-event-source.ts";

const DEFAULT_STOP_GRACE_MS = 10_000;
const DEFAULT_IDLE_TIMEOUT_MS = 120_000;
const IDLE_POLL_MS = 100;

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

interface RunnerParts {
  readonly port: number;
  readonly pools: ReadonlyMap<string, FunctionPool>;
  readonly http: HttpFront;
  readonly sources: readonly (SqsEventSource | ScheduleSource)[];
  /** The polled queues: idle() waits for them to be empty. */
  readonly queueUrls: readonly string[];
  /** The event source mappings' client. */
  readonly sqs: SQSClient;
  readonly eventSourceRequests: ReadonlyMap<string, number>;
  readonly buildDir: string;
}

export class RunnerHandle implements LambdaRunner {
  readonly url: string;
  readonly port: number;
  private stopping: Promise<void> | undefined;

  constructor(private readonly parts: RunnerParts) {
    this.port = parts.port;
    this.url = `http://127.0.0.1:${parts.port}`;
  }

  stats(): RunnerStats {
    const result: RunnerStats = {
      functions: {},
      awsRequests: {},
      awsRequestsByFunction: {},
      awsAccessByFunction: {},
      eventSourceRequests: Object.fromEntries(this.parts.eventSourceRequests),
    };
    for (const [name, pool] of this.parts.pools) {
      result.functions[name] = pool.stats();
      result.awsRequestsByFunction[name] = pool.awsRequests();
      result.awsAccessByFunction[name] = pool.awsAccess();
      for (const [operation, n] of Object.entries(pool.awsRequests())) {
        result.awsRequests[operation] = (result.awsRequests[operation] ?? 0) + n;
      }
    }
    return result;
  }

  async prewarm(functionName: string, containers: number): Promise<void> {
    const pool = this.pool(functionName);
    await Promise.all(Array.from({ length: containers }, () => pool.invoke({ Records: [] })));
  }

  killBusy(functionName: string): number {
    return this.pool(functionName).killBusy();
  }

  async idle({ timeoutMs = DEFAULT_IDLE_TIMEOUT_MS } = {}): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // Twice in a row: a handler may enqueue a message just as its invocation ends.
    for (let quiet = 0; quiet < 2; ) {
      quiet = this.busy() === 0 && (await this.queuesEmpty()) && this.busy() === 0 ? quiet + 1 : 0;
      if (quiet < 2) {
        if (Date.now() > deadline) throw new Error(`The runner was not idle within ${timeoutMs} ms`);
        await sleep(IDLE_POLL_MS);
      }
    }
  }

  pids(): number[] {
    return [...this.parts.pools.values()].flatMap((pool) => pool.pids());
  }

  stop({ graceMs = DEFAULT_STOP_GRACE_MS } = {}): Promise<void> {
    this.stopping ??= this.shutDown(graceMs);
    return this.stopping;
  }

  private pool(functionName: string): FunctionPool {
    const pool = this.parts.pools.get(functionName);
    if (!pool) throw new Error(`No function ${functionName}`);
    return pool;
  }

  private busy(): number {
    const { http, pools, sources } = this.parts;
    return (
      http.inFlight +
      [...pools.values()].reduce((n, pool) => n + pool.inFlight, 0) +
      sources.reduce((n, source) => n + source.inFlight, 0)
    );
  }

  private async queuesEmpty(): Promise<boolean> {
    const counts = await Promise.all(
      this.parts.queueUrls.map(async (url) => {
        const out = await this.parts.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: url,
            // Messages sent with a delay are work scheduled for later (the delivery-report tally's
            // passes), not work under way.
            AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
          }),
        );
        return Object.values(out.Attributes ?? {}).reduce((n, v) => n + Number(v), 0);
      }),
    );
    return counts.every((n) => n === 0);
  }

  private async shutDown(graceMs: number): Promise<void> {
    const { http, pools, sources, sqs, buildDir } = this.parts;
    const httpClosed = http.stopListening();
    const sourcesStopped = Promise.all(sources.map((source) => source.stop()));
    const deadline = Date.now() + graceMs;
    while (this.busy() > 0 && Date.now() < deadline) await sleep(50);
    await Promise.all([...pools.values()].map((pool) => pool.stop()));
    await sourcesStopped;
    http.dropConnections();
    await httpClosed;
    sqs.destroy();
    rmSync(buildDir, { recursive: true, force: true });
  }
}
