/**
 * One warm "container" of the local Lambda runner: a child process that imports the handler module
 * once (the init phase) and then serves invocations one at a time over IPC, keeping module state
 * between them as a Lambda execution environment does.
 *
 * argv: <absolute module path> <export name>
 */

import { once } from "node:events";
import { Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import type { Context } from "aws-lambda";
import {
  AWS_REQUEST_COUNTS_KEY,
  type ContainerMessage,
  type ContainerUsage,
  DEFAULT_STREAM_CONTENT_TYPE,
  HTTP_INTEGRATION_CONTENT_TYPE,
  type InvokeContext,
  type LambdaError,
  type RunnerMessage,
  STREAMING_HANDLER,
} from "./container-protocol.ts";
import { instrumentSdkClients } from "./sdk-instrumentation.ts";

// Before the handler's modules create their SDK clients; test fixtures count into the same map.
const sdk = instrumentSdkClients();
(globalThis as Record<symbol, unknown>)[AWS_REQUEST_COUNTS_KEY] = sdk.requests;

type Callback = (error?: unknown, result?: unknown) => void;
type Handler = ((event: unknown, context: Context, callback: Callback) => unknown) & {
  [STREAMING_HANDLER]?: string;
};
type StreamingHandler = (event: unknown, stream: ResponseStream, context: Context) => unknown;

function send(message: ContainerMessage, sent?: (error: Error | null) => void): void {
  if (!process.send) return;
  if (sent) process.send(message, undefined, {}, sent);
  else process.send(message);
}

/**
 * The response stream Lambda's Node.js runtime hands a streaming handler: a Writable whose content
 * type may be set until the first write, and whose `_onBeforeFirstWrite` hook (set by
 * `awslambda.HttpResponseStream.from`) writes the metadata prelude ahead of the first bytes. Each
 * write goes to the runner as it is made; the next is taken once the IPC channel took this one.
 */
class ResponseStream extends Writable {
  _onBeforeFirstWrite: ((write: (chunk: string | Uint8Array) => void) => void) | undefined;
  private contentType = DEFAULT_STREAM_CONTENT_TYPE;
  private started = false;

  constructor(private readonly awsRequestId: string) {
    super();
    // A handler that ends without writing still answers, with the content type it set.
    this.once("finish", () => this.start());
  }

  setContentType(contentType: string): void {
    if (this.started) throw new Error("Cannot set content-type, too late.");
    this.contentType = contentType;
  }

  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    if (!this.started) {
      this.start();
      this._onBeforeFirstWrite?.((first) => super.write(first));
    }
    return super.write(
      chunk,
      encoding as BufferEncoding,
      callback as ((error: Error | null | undefined) => void) | undefined,
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    send({ type: "stream-chunk", awsRequestId: this.awsRequestId, data: chunk.toString("base64") }, (error) =>
      done(error),
    );
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    send({ type: "stream-start", awsRequestId: this.awsRequestId, contentType: this.contentType });
  }
}

/** The `awslambda` global of Lambda's Node.js runtimes, defined before the handler's module loads. */
function defineAwsLambdaGlobal(): void {
  (globalThis as Record<string, unknown>).awslambda = {
    streamifyResponse(handler: Handler) {
      handler[STREAMING_HANDLER] = "response";
      return handler;
    },
    HttpResponseStream: {
      from(stream: ResponseStream, prelude: Record<string, unknown>) {
        stream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
        stream._onBeforeFirstWrite = (write) => {
          // The JSON prelude, then eight NUL bytes; a NUL may not occur in the JSON.
          write(JSON.stringify(prelude));
          write(new Uint8Array(8));
        };
        return stream;
      },
    },
  };
}

function usage(): ContainerUsage {
  const resources = process.resourceUsage();
  return {
    // Peak, not current: Lambda reports "Max Memory Used".
    peakRssBytes: resources.maxRSS * 1024,
    awsRequests: Object.fromEntries(sdk.requests),
    awsAccess: Object.fromEntries(sdk.access),
    dynamoReadUnits: sdk.capacity.get("read") ?? 0,
    dynamoWriteUnits: sdk.capacity.get("write") ?? 0,
    cpuMs: (resources.userCPUTime + resources.systemCPUTime) / 1000,
  };
}

function toLambdaError(error: unknown, errorType?: string): LambdaError {
  if (error instanceof Error) {
    return {
      errorType: errorType ?? error.name,
      errorMessage: error.message,
      trace: error.stack?.split("\n") ?? [],
    };
  }
  return { errorType: errorType ?? "Error", errorMessage: typeof error === "string" ? error : String(error) };
}

async function loadHandler(modulePath: string, exportName: string): Promise<Handler> {
  let module: Record<string, unknown>;
  try {
    module = await import(pathToFileURL(modulePath).href);
  } catch (error) {
    // Lambda names a missing module Runtime.ImportModuleError; an exception thrown by the module's
    // top-level code keeps its own type (a ConfigError stays a ConfigError).
    const missing = (error as { code?: string }).code === "ERR_MODULE_NOT_FOUND";
    throw toLambdaError(error, missing ? "Runtime.ImportModuleError" : undefined);
  }
  const handler = module[exportName];
  if (typeof handler !== "function") {
    const notFound: LambdaError = {
      errorType: "Runtime.HandlerNotFound",
      errorMessage: `${modulePath}: export '${exportName}' is undefined or not a function`,
    };
    throw notFound;
  }
  return handler as Handler;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

function contextOf(data: InvokeContext, callback: Callback): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: data.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: data.invokedFunctionArn,
    memoryLimitInMB: data.memoryLimitInMB,
    awsRequestId: data.awsRequestId,
    logGroupName: data.logGroupName,
    logStreamName: data.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, data.deadlineMs - Date.now()),
    done: callback,
    fail: (error) => callback(error),
    succeed: (result: unknown) => callback(null, result),
  };
}

/** Async handlers resolve; callback-style handlers (three parameters) call back, as nodejs22.x allows. */
function callHandler(handler: Handler, event: unknown, data: InvokeContext): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const callback: Callback = (error, result) => (error != null ? reject(error) : resolve(result));
    const context = contextOf(data, callback);
    try {
      const returned = handler(event, context, callback);
      if (isThenable(returned)) returned.then(resolve, reject);
      else if (handler.length < 3) resolve(returned);
    } catch (error) {
      reject(error);
    }
  });
}

/**
 * A streaming handler, as Lambda's runtime calls it: it must return a promise; the invocation ends
 * when that promise has resolved and the stream has finished (a stream never ended runs into the
 * timeout, as in Lambda). Its result is ignored; an error after bytes were written reaches the
 * runner as an error all the same (the client sees the response cut off).
 */
async function invokeStreaming(handler: Handler, event: unknown, context: InvokeContext): Promise<void> {
  const { awsRequestId } = context;
  const stream = new ResponseStream(awsRequestId);
  try {
    const returned = (handler as unknown as StreamingHandler)(
      event,
      stream,
      contextOf(context, () => {}),
    );
    if (!isThenable(returned)) throw new Error("Streaming does not support non-async handlers.");
    await returned;
    if (!stream.writableFinished) await once(stream, "finish");
  } catch (error) {
    send({ type: "error", awsRequestId, error: toLambdaError(error), usage: usage() });
    return;
  }
  send({ type: "stream-end", awsRequestId, usage: usage() });
}

async function invoke(handler: Handler, event: unknown, context: InvokeContext): Promise<void> {
  if (handler[STREAMING_HANDLER] === "response") return invokeStreaming(handler, event, context);
  const { awsRequestId } = context;
  let result: unknown;
  try {
    result = await callHandler(handler, event, context);
  } catch (error) {
    send({
      type: "error",
      awsRequestId,
      error: toLambdaError(error),
      usage: usage(),
    });
    return;
  }
  let payload: string;
  try {
    payload = JSON.stringify(result) ?? "null";
  } catch (error) {
    send({
      type: "error",
      awsRequestId,
      error: toLambdaError(error, "Runtime.MarshalError"),
      usage: usage(),
    });
    return;
  }
  send({ type: "result", awsRequestId, payload, usage: usage() });
}

async function main(): Promise<void> {
  // The runner is gone (even SIGKILLed): a container must not outlive it.
  process.on("disconnect", () => process.exit(0));

  const [modulePath, exportName] = process.argv.slice(2);
  if (!modulePath || !exportName) throw new Error("usage: lambda-container <module path> <export name>");
  defineAwsLambdaGlobal();
  let handler: Handler;
  try {
    handler = await loadHandler(modulePath, exportName);
  } catch (error) {
    const lambdaError = error instanceof Error ? toLambdaError(error) : (error as LambdaError);
    send({ type: "init-error", error: lambdaError });
    return;
  }
  process.on("message", (message: RunnerMessage) => {
    if (message.type === "invoke") void invoke(handler, message.event, message.context);
  });
  send({ type: "ready", usage: usage() });
}

await main();
