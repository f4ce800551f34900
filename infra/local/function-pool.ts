/**
 * The containers of one function: child processes started on demand (cold starts), reused while warm,
 * at most `maxConcurrency` invocations at once; callers beyond that wait for a slot. One class of
 * some 400 lines: a container's start, invocation, timeout and death all update the same slots and
 * stats, which a split would have to share.
 */

import { type ChildProcess, fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { createInterface } from "node:readline";
import type {
  ContainerMessage,
  ContainerUsage,
  InvokeContext,
  LambdaError,
  RunnerMessage,
} from "./container-protocol.ts";
import { killOnExit } from "./process-cleanup.ts";

export interface FunctionConfig {
  /** Key in `functions` of common/definitions.ts; also the local function name. */
  readonly name: string;
  /** `path/to/file.export` relative to the repository root. */
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** Behind a RESPONSE_STREAM Function URL (common/definitions.ts `streaming`). */
  readonly streaming?: boolean;
}

export type InvokeOutcome =
  | {
      readonly ok: true;
      /** A buffered handler's result; a streaming one's bytes as text when no sink took them. */
      readonly result: unknown;
      readonly awsRequestId: string;
      /** The handler was a response-streaming one (`awslambda.streamifyResponse`). */
      readonly streamed?: true;
    }
  | {
      readonly ok: false;
      /** `error`: the handler threw or init failed; `crash`: the process died mid-invocation. */
      readonly kind: "error" | "timeout" | "crash";
      readonly error: LambdaError;
      readonly awsRequestId: string;
    };

export interface FunctionStats {
  invocations: number;
  /** Every failed invocation, timeouts and crashes included (Lambda's Errors metric). */
  errors: number;
  timeouts: number;
  /** Containers that died outside a timeout: killBusy(), process.exit(), uncaught exceptions. */
  crashes: number;
  coldStarts: number;
  peakRssBytes: number;
  peakConcurrency: number;
  /** Invocation time as Lambda bills it: each invocation's duration rounded up to the millisecond. */
  billedMs: number;
  /** Bytes of log output (stdout and stderr lines, newline included), as CloudWatch Logs would ingest. */
  logBytes: number;
  /** CPU time of the containers, dead ones included. */
  cpuMs: number;
  /** DynamoDB capacity units the containers consumed, as DynamoDB reported them. */
  dynamoReadUnits: number;
  dynamoWriteUnits: number;
  /** Live containers and those inside an invocation right now. */
  containers: number;
  busy: number;
}

/** Where a streaming handler's output goes as it is written (a Function URL in RESPONSE_STREAM mode). */
export interface StreamSink {
  /** The first bytes are coming, of this content type (the stream's, set before its first write). */
  start(contentType: string): void;
  chunk(bytes: Buffer): void;
}

export interface PoolOptions {
  readonly root: string;
  /** The complete environment of the container processes. */
  readonly env: Record<string, string>;
  readonly maxConcurrency: number;
  readonly region: string;
  readonly initTimeoutMs: number;
  readonly log: (line: string) => void;
  /** The bundled container entry (lambda-container.ts), see bundle.ts. */
  readonly containerEntry: string;
  /** The handler module each container imports: the function's bundle. */
  readonly modulePath: string;
}

/** Lambda's synchronous invocation response limit. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const TAIL_LINES = 20;

/** `functions/notify.handler` → `<root>/functions/notify.ts` and `handler`. */
export function resolveHandler(root: string, handler: string): { modulePath: string; exportName: string } {
  const dot = handler.lastIndexOf(".");
  if (dot <= 0 || dot === handler.length - 1)
    throw new Error(`Handler "${handler}" is not of the form file.export`);
  const base = resolvePath(root, handler.slice(0, dot));
  const extension = [".ts", ".mts", ".js", ".mjs", ".cjs"].find((ext) => existsSync(base + ext));
  // A missing file is reported at the first invocation (Runtime.ImportModuleError), as in Lambda.
  return { modulePath: base + (extension ?? ".ts"), exportName: handler.slice(dot + 1) };
}

class Container {
  state: "starting" | "idle" | "busy" | "dead" = "starting";
  readonly tail: string[] = [];
  readonly exited: Promise<void>;
  private readonly unregister: () => void;

  constructor(
    readonly child: ChildProcess,
    onLine: (line: string) => void,
  ) {
    this.unregister = killOnExit(() => this.kill());
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    void this.exited.then(() => {
      this.state = "dead";
      this.unregister();
    });
    const record = (line: string): void => {
      this.tail.push(line);
      if (this.tail.length > TAIL_LINES) this.tail.shift();
      onLine(line);
    };
    if (child.stdout) createInterface({ input: child.stdout }).on("line", record);
    if (child.stderr) createInterface({ input: child.stderr }).on("line", record);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The whole process group, so nothing the handler started outlives its container. */
  kill(): void {
    if (!this.alive) return;
    try {
      process.kill(-this.pid, "SIGKILL");
    } catch {
      this.child.kill("SIGKILL");
    }
  }
}

function exitDescription(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal === "SIGKILL") return "signal: killed";
  if (signal) return `signal: ${signal}`;
  return `exit status ${code ?? "unknown"}`;
}

export class FunctionPool {
  private readonly containers = new Set<Container>();
  private readonly idle: Container[] = [];
  private readonly waiting: Array<() => void> = [];
  private active = 0;
  private stopped = false;
  private readonly counters = {
    invocations: 0,
    errors: 0,
    timeouts: 0,
    crashes: 0,
    coldStarts: 0,
    peakRssBytes: 0,
    peakConcurrency: 0,
    billedMs: 0,
    logBytes: 0,
  };
  /** Latest cumulative usage per container, dead ones included. */
  private readonly usageByContainer = new Map<Container, ContainerUsage>();
  private readonly exportName: string;

  constructor(
    readonly config: FunctionConfig,
    private readonly opts: PoolOptions,
  ) {
    this.exportName = resolveHandler(opts.root, config.handler).exportName;
  }

  get maxConcurrency(): number {
    return this.opts.maxConcurrency;
  }

  /** Invocations holding a concurrency slot (cold start included). */
  get inFlight(): number {
    return this.active;
  }

  stats(): FunctionStats {
    const usage = [...this.usageByContainer.values()];
    const sum = (pick: (u: ContainerUsage) => number) => usage.reduce((total, u) => total + pick(u), 0);
    return {
      ...this.counters,
      cpuMs: Math.round(sum((u) => u.cpuMs)),
      dynamoReadUnits: sum((u) => u.dynamoReadUnits),
      dynamoWriteUnits: sum((u) => u.dynamoWriteUnits),
      containers: this.containers.size,
      busy: this.active,
    };
  }

  /** AWS requests made by this function's containers, by `Service.Operation`. */
  awsRequests(): Record<string, number> {
    return this.sumOver((u) => u.awsRequests);
  }

  /** What those requests needed, by `<service>:<IAM action> <table or queue>`. */
  awsAccess(): Record<string, number> {
    return this.sumOver((u) => u.awsAccess);
  }

  private sumOver(pick: (usage: ContainerUsage) => Readonly<Record<string, number>>): Record<string, number> {
    const total: Record<string, number> = {};
    for (const usage of this.usageByContainer.values())
      for (const [key, n] of Object.entries(pick(usage))) total[key] = (total[key] ?? 0) + n;
    return total;
  }

  pids(): number[] {
    return [...this.containers].map((c) => c.pid);
  }

  /** Invokes the function; a streaming handler's bytes go to `sink` as they come (else they are collected). */
  async invoke(event: unknown, sink?: StreamSink): Promise<InvokeOutcome> {
    const awsRequestId = randomUUID();
    await this.acquireSlot();
    try {
      if (this.stopped) {
        return {
          ok: false,
          kind: "error",
          error: { errorType: "Runner.Stopped", errorMessage: "stopped" },
          awsRequestId,
        };
      }
      this.counters.invocations += 1;
      let container = this.takeIdle();
      if (!container) {
        const started = await this.coldStart();
        if ("error" in started) return this.fail(awsRequestId, "error", started.error);
        container = started.container;
      }
      return await this.run(container, event, awsRequestId, sink);
    } finally {
      this.releaseSlot();
    }
  }

  /** SIGKILLs every container inside an invocation; those invocations fail as crashes. */
  killBusy(): number {
    let killed = 0;
    for (const container of this.containers) {
      if (container.state === "busy" && container.alive) {
        container.kill();
        killed += 1;
      }
    }
    return killed;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.waiting.splice(0)) wake();
    const all = [...this.containers];
    for (const container of all) container.kill();
    await Promise.all(all.map((c) => c.exited));
  }

  private fail(awsRequestId: string, kind: "error" | "timeout" | "crash", error: LambdaError): InvokeOutcome {
    this.counters.errors += 1;
    if (kind === "timeout") this.counters.timeouts += 1;
    return { ok: false, kind, error, awsRequestId };
  }

  private async acquireSlot(): Promise<void> {
    while (this.active >= this.opts.maxConcurrency && !this.stopped) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.active += 1;
    this.counters.peakConcurrency = Math.max(this.counters.peakConcurrency, this.active);
  }

  private releaseSlot(): void {
    this.active -= 1;
    this.waiting.shift()?.();
  }

  private takeIdle(): Container | undefined {
    // Most recently used first: the others may then idle long enough to matter less.
    for (let container = this.idle.pop(); container; container = this.idle.pop()) {
      if (container.alive) return container;
    }
    return undefined;
  }

  private recordUsage(container: Container, usage: ContainerUsage): void {
    this.counters.peakRssBytes = Math.max(this.counters.peakRssBytes, usage.peakRssBytes);
    this.usageByContainer.set(container, usage);
  }

  private spawn(): Container {
    const { name, memoryMb } = this.config;
    const child = fork(this.opts.containerEntry, [this.opts.modulePath, this.exportName], {
      cwd: this.opts.root,
      env: this.opts.env,
      execPath: process.execPath,
      // The heap cap keeps a runaway handler from growing far past the function's memory size, where
      // Lambda would kill it.
      execArgv: ["--enable-source-maps", `--max-old-space-size=${Math.max(64, Math.floor(memoryMb * 0.9))}`],
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      // Own process group, so kill() also reaches anything the handler started.
      detached: true,
      serialization: "json",
    });
    const container = new Container(child, (line) => {
      this.counters.logBytes += Buffer.byteLength(line) + 1;
      this.opts.log(`[${name} ${child.pid}] ${line}`);
    });
    this.containers.add(container);
    void container.exited.then(() => {
      this.containers.delete(container);
      const index = this.idle.indexOf(container);
      if (index >= 0) {
        this.idle.splice(index, 1);
        if (!this.stopped) this.counters.crashes += 1;
      }
    });
    return container;
  }

  private coldStart(): Promise<{ container: Container } | { error: LambdaError }> {
    this.counters.coldStarts += 1;
    const container = this.spawn();
    const { child } = container;
    return new Promise((resolve) => {
      const finish = (result: { container: Container } | { error: LambdaError }): void => {
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("exit", onExit);
        if ("error" in result) container.kill();
        resolve(result);
      };
      const onMessage = (message: ContainerMessage): void => {
        if (message.type === "ready") {
          this.recordUsage(container, message.usage);
          container.state = "idle";
          finish({ container });
        } else if (message.type === "init-error") {
          finish({ error: message.error });
        }
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
        finish({
          error: {
            errorType: "Runtime.ExitError",
            errorMessage: `Error: Runtime exited during init with error: ${exitDescription(code, signal)}`,
            trace: [...container.tail],
          },
        });
      const timer = setTimeout(
        () =>
          finish({
            error: {
              errorType: "Sandbox.Timedout",
              errorMessage: `INIT timed out after ${(this.opts.initTimeoutMs / 1000).toFixed(2)} seconds`,
            },
          }),
        this.opts.initTimeoutMs,
      );
      child.on("message", onMessage);
      child.once("exit", onExit);
    });
  }

  private run(
    container: Container,
    event: unknown,
    awsRequestId: string,
    sink?: StreamSink,
  ): Promise<InvokeOutcome> {
    const { name, timeoutSeconds, memoryMb } = this.config;
    const { child } = container;
    const timeoutMs = timeoutSeconds * 1000;
    const context: InvokeContext = {
      awsRequestId,
      functionName: name,
      memoryLimitInMB: String(memoryMb),
      invokedFunctionArn: `arn:aws:lambda:${this.opts.region}:000000000000:function:${name}`,
      logGroupName: `/aws/lambda/${name}`,
      logStreamName: `local/[$LATEST]${child.pid}`,
      deadlineMs: Date.now() + timeoutMs,
    };
    container.state = "busy";
    return new Promise<InvokeOutcome>((resolve) => {
      const settle = (outcome: InvokeOutcome): void => {
        clearTimeout(timer);
        this.counters.billedMs += Math.ceil(performance.now() - startedMs);
        child.off("message", onMessage);
        child.off("exit", onExit);
        if (container.alive && !this.stopped) {
          container.state = "idle";
          this.idle.push(container);
        }
        resolve(outcome);
      };
      // Without a sink, a streaming handler's bytes are kept and returned as its result.
      const collected: Buffer[] = [];
      const onMessage = (message: ContainerMessage): void => {
        if (!("awsRequestId" in message) || message.awsRequestId !== awsRequestId) return;
        if (message.type === "stream-start") {
          sink?.start(message.contentType);
          return;
        }
        if (message.type === "stream-chunk") {
          const bytes = Buffer.from(message.data, "base64");
          if (sink) sink.chunk(bytes);
          else collected.push(bytes);
          return;
        }
        this.recordUsage(container, message.usage);
        if (message.type === "stream-end") {
          settle({
            ok: true,
            result: Buffer.concat(collected).toString("utf8"),
            awsRequestId,
            streamed: true,
          });
          return;
        }
        if (message.type === "error") {
          settle(this.fail(awsRequestId, "error", message.error));
        } else if (Buffer.byteLength(message.payload) > MAX_PAYLOAD_BYTES) {
          settle(
            this.fail(awsRequestId, "error", {
              errorType: "Function.ResponseSizeTooLarge",
              errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_PAYLOAD_BYTES} bytes).`,
            }),
          );
        } else {
          settle({ ok: true, result: JSON.parse(message.payload) as unknown, awsRequestId });
        }
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (timedOut) {
          const seconds = ((performance.now() - startedMs) / 1000).toFixed(2);
          settle(
            this.fail(awsRequestId, "timeout", {
              errorType: "Sandbox.Timedout",
              errorMessage: `RequestId: ${awsRequestId} Error: Task timed out after ${seconds} seconds`,
            }),
          );
          return;
        }
        this.counters.crashes += 1;
        settle(
          this.fail(awsRequestId, "crash", {
            errorType: "Runtime.ExitError",
            errorMessage: `RequestId: ${awsRequestId} Error: Runtime exited with error: ${exitDescription(code, signal)}`,
            trace: [...container.tail],
          }),
        );
      };
      const startedMs = performance.now();
      let timedOut = false;
      // Lambda does not wait for a handler past its timeout: the environment is torn down and the
      // next invocation starts cold.
      const timer = setTimeout(() => {
        timedOut = true;
        container.kill();
      }, timeoutMs);
      child.on("message", onMessage);
      child.once("exit", onExit);
      const message: RunnerMessage = { type: "invoke", event, context };
      child.send(message, (error) => {
        if (error) container.kill();
      });
    });
  }
}
