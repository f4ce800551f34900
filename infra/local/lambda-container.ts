/**
 * One warm "container" of the local Lambda runner: a child process that imports the handler module
 * once (the init phase) and then serves invocations one at a time over IPC, keeping module state
 * between them as a Lambda execution environment does.
 *
 * argv: <absolute module path> <export name>
 */

import { pathToFileURL } from "node:url";
import type { Context } from "aws-lambda";
import {
  AWS_REQUEST_COUNTS_KEY,
  type ContainerMessage,
  type ContainerUsage,
  type InvokeContext,
  type LambdaError,
  type RunnerMessage,
} from "./container-protocol.ts";
import { instrumentSdkClients } from "./sdk-instrumentation.ts";

// Before the handler's modules create their SDK clients; test fixtures count into the same map.
const sdk = instrumentSdkClients();
(globalThis as Record<symbol, unknown>)[AWS_REQUEST_COUNTS_KEY] = sdk.requests;

type Callback = (error?: unknown, result?: unknown) => void;
type Handler = (event: unknown, context: Context, callback: Callback) => unknown;

function send(message: ContainerMessage): void {
  process.send?.(message);
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

/** Async handlers resolve; callback-style handlers (three parameters) call back, as nodejs22.x allows. */
function callHandler(handler: Handler, event: unknown, data: InvokeContext): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const callback: Callback = (error, result) => (error != null ? reject(error) : resolve(result));
    const context: Context = {
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
    try {
      const returned = handler(event, context, callback);
      if (isThenable(returned)) returned.then(resolve, reject);
      else if (handler.length < 3) resolve(returned);
    } catch (error) {
      reject(error);
    }
  });
}

async function invoke(handler: Handler, event: unknown, context: InvokeContext): Promise<void> {
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
