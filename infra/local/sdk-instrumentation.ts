/**
 * The local stack's AWS SDK instrumentation, registered by the Lambda container before the handler
 * loads (functions/adapters/sdk-hook.ts) and used by the runner's own SQS client: requests by
 * `Service.Operation`, DynamoDB capacity units, and which IAM action each request needs on which
 * table or queue. The benchmark and the demo report the first two; the permission check compares
 * the third with common/definitions.ts `permissions`. Never part of a deployed function.
 */
import type { InitializeMiddleware, Pluggable } from "@smithy/types";
import { SDK_HOOK_KEY, type SdkHook, type SdkService } from "../../functions/adapters/sdk-hook.ts";

/** An SDK middleware that counts every request attempt into `counts` (retries stay visible). */
export function countAwsRequests<Input extends object, Output extends object>(
  counts: Map<string, number>,
): Pluggable<Input, Output> {
  return {
    applyToStack(stack) {
      stack.add(
        (next, context) => async (args) => {
          const key = `${context.clientName?.replace(/Client$/, "") ?? "AWS"}.${context.commandName?.replace(/Command$/, "") ?? "?"}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
          return next(args);
        },
        { step: "finalizeRequest", name: "countAwsRequests" },
      );
    },
  };
}

/** One middleware at the initialize step, once per command (before retries), under `name`. */
function atInitialize<Input extends object, Output extends object>(
  name: string,
  middleware: InitializeMiddleware<Input, Output>,
): Pluggable<Input, Output> {
  return { applyToStack: (stack) => stack.add(middleware, { step: "initialize", name }) };
}

const READS = new Set(["GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"]);
const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]);

interface Consumed {
  readonly CapacityUnits?: number;
}

/**
 * A DynamoDB middleware that asks for `ReturnConsumedCapacity: TOTAL` (free; tables and indexes
 * together) and adds the units to `capacity`. A write refused by its condition consumes units too,
 * but DynamoDB does not report them, so those are not counted.
 */
export function measureDynamoCapacity<Input extends object, Output extends object>(
  capacity: Map<"read" | "write", number>,
): Pluggable<Input, Output> {
  return atInitialize("measureDynamoCapacity", (next, context) => async (args) => {
    const operation = context.commandName?.replace(/Command$/, "") ?? "";
    const kind = READS.has(operation) ? "read" : WRITES.has(operation) ? "write" : undefined;
    if (!kind) return next(args);
    const input = args.input as { ReturnConsumedCapacity?: string };
    input.ReturnConsumedCapacity ??= "TOTAL";
    const result = await next(args);
    const reported = (result.output as { ConsumedCapacity?: Consumed | Consumed[] }).ConsumedCapacity;
    const units = [reported ?? []].flat().reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
    capacity.set(kind, (capacity.get(kind) ?? 0) + units);
    return result;
  });
}

type Item = Record<string, { TableName?: string } | undefined>;

/** The IAM actions a DynamoDB request needs, each on `table` or `table/index/<name>`. */
function dynamoAccess(operation: string, input: Record<string, unknown>): string[] {
  const table = input.TableName as string | undefined;
  const index = input.IndexName as string | undefined;
  switch (operation) {
    case "BatchGetItem":
    case "BatchWriteItem":
      return Object.keys((input.RequestItems as object | undefined) ?? {}).map(
        (t) => `dynamodb:${operation} ${t}`,
      );
    case "TransactWriteItems":
    case "TransactGetItems": {
      const actions = {
        Put: "PutItem",
        Update: "UpdateItem",
        Delete: "DeleteItem",
        ConditionCheck: "ConditionCheckItem",
        Get: "GetItem",
      };
      return ((input.TransactItems as Item[] | undefined) ?? []).flatMap((item) =>
        Object.entries(actions).flatMap(([kind, action]) => {
          const name = item[kind]?.TableName;
          return name ? [`dynamodb:${action} ${name}`] : [];
        }),
      );
    }
    default:
      return table ? [`dynamodb:${operation} ${index ? `${table}/index/${index}` : table}`] : [];
  }
}

/** The IAM action an SQS request needs, on the queue its URL names. */
function sqsAccess(operation: string, input: Record<string, unknown>): string[] {
  const url = input.QueueUrl as string | undefined;
  if (!url) return [];
  const action = operation.replace(/Batch$/, "");
  return [`sqs:${action} ${url.slice(url.lastIndexOf("/") + 1)}`];
}

/** Records, per request, each `<service>:<IAM action> <resource>` it needs into `access`. */
export function recordAccess<Input extends object, Output extends object>(
  service: SdkService,
  access: Map<string, number>,
): Pluggable<Input, Output> {
  return atInitialize("recordAccess", (next, context) => async (args) => {
    const operation = context.commandName?.replace(/Command$/, "") ?? "";
    const input = args.input as Record<string, unknown>;
    for (const key of service === "dynamodb" ? dynamoAccess(operation, input) : sqsAccess(operation, input))
      access.set(key, (access.get(key) ?? 0) + 1);
    return next(args);
  });
}

/** What one process's SDK clients did, cumulative. */
export interface SdkUsage {
  readonly requests: Map<string, number>;
  readonly capacity: Map<"read" | "write", number>;
  readonly access: Map<string, number>;
}

/** Registers the instrumentation for every SDK client the handler's modules create from now on. */
export function instrumentSdkClients(): SdkUsage {
  const usage: SdkUsage = { requests: new Map(), capacity: new Map(), access: new Map() };
  const hook: SdkHook = (service) => [
    countAwsRequests(usage.requests),
    recordAccess(service, usage.access),
    ...(service === "dynamodb" ? [measureDynamoCapacity(usage.capacity)] : []),
  ];
  (globalThis as Record<symbol, unknown>)[SDK_HOOK_KEY] = hook;
  return usage;
}
