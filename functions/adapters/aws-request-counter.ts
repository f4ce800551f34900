import type { Pluggable } from "@smithy/types";

/**
 * AWS requests made by this process, by `Service.Operation`: the demo and the benchmark report them
 * per recipient. Counting once per attempt keeps SDK retries visible.
 */
export const awsRequestCounts = new Map<string, number>();
// Published under a global symbol so the local Lambda runner can read it without importing functions/.
(globalThis as Record<symbol, unknown>)[Symbol.for("wechat-fanout.awsRequestCounts")] = awsRequestCounts;

/** An SDK middleware that counts every request attempt into `awsRequestCounts`. */
export function countAwsRequests<Input extends object, Output extends object>(): Pluggable<Input, Output> {
  return {
    applyToStack(stack) {
      stack.add(
        (next, context) => async (args) => {
          const key = `${context.clientName?.replace(/Client$/, "") ?? "AWS"}.${context.commandName?.replace(/Command$/, "") ?? "?"}`;
          awsRequestCounts.set(key, (awsRequestCounts.get(key) ?? 0) + 1);
          return next(args);
        },
        { step: "finalizeRequest", name: "countAwsRequests" },
      );
    },
  };
}
