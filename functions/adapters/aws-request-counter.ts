import type { Pluggable } from "@smithy/types";

/**
 * AWS requests made by this process, by `Service.Operation`: the demo and the benchmark report them
 * per recipient. Counting once per attempt keeps SDK retries visible.
 */
export const awsRequestCounts = new Map<string, number>();
/** DynamoDB capacity units consumed by this process, as DynamoDB reports them (`ReturnConsumedCapacity`). */
export const dynamoCapacityUnits = new Map<"read" | "write", number>();
// Published under global symbols so the local Lambda runner can read them without importing functions/.
(globalThis as Record<symbol, unknown>)[Symbol.for("wechat-fanout.awsRequestCounts")] = awsRequestCounts;
(globalThis as Record<symbol, unknown>)[Symbol.for("wechat-fanout.dynamoCapacityUnits")] =
  dynamoCapacityUnits;

/** An SDK middleware that counts every request attempt into `counts` (this process's, by default). */
export function countAwsRequests<Input extends object, Output extends object>(
  counts: Map<string, number> = awsRequestCounts,
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

const READS = new Set(["GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"]);
const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]);

interface Consumed {
  readonly CapacityUnits?: number;
}

/**
 * A DynamoDB middleware that asks for `ReturnConsumedCapacity: TOTAL` (free; tables and indexes
 * together) and adds the units to `dynamoCapacityUnits`. A write refused by its condition consumes
 * units too, but DynamoDB does not report them, so those are not counted.
 */
export function measureDynamoCapacity<Input extends object, Output extends object>(): Pluggable<
  Input,
  Output
> {
  return {
    applyToStack(stack) {
      stack.add(
        (next, context) => async (args) => {
          const operation = context.commandName?.replace(/Command$/, "") ?? "";
          const kind = READS.has(operation) ? "read" : WRITES.has(operation) ? "write" : undefined;
          if (!kind) return next(args);
          const input = args.input as { ReturnConsumedCapacity?: string };
          input.ReturnConsumedCapacity ??= "TOTAL";
          const result = await next(args);
          const reported = (result.output as { ConsumedCapacity?: Consumed | Consumed[] }).ConsumedCapacity;
          const units = [reported ?? []].flat().reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
          dynamoCapacityUnits.set(kind, (dynamoCapacityUnits.get(kind) ?? 0) + units);
          return result;
        },
        { step: "initialize", name: "measureDynamoCapacity" },
      );
    },
  };
}
