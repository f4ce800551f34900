import type { Pluggable } from "@smithy/types";

/**
 * Where a host process may register instrumentation for the AWS SDK clients before the handler
 * loads: the local stack's Lambda container counts requests, capacity and accessed resources this
 * way for the benchmark, the demo and the permission check. Nothing registers one in Lambda, so the
 * production clients carry no middleware of ours.
 */
export const SDK_HOOK_KEY = Symbol.for("wechat-fanout.instrumentSdkClient");

export type SdkService = "dynamodb" | "sqs";
export type SdkHook = (service: SdkService) => readonly Pluggable<object, object>[];

/** Adds what the host registered, if anything, to a client's middleware stack. */
export function withHostInstrumentation<C extends { middlewareStack: object }>(
  client: C,
  service: SdkService,
): C {
  const hook = (globalThis as Record<symbol, unknown>)[SDK_HOOK_KEY];
  if (typeof hook !== "function") return client;
  const stack = client.middlewareStack as { use(plugin: unknown): void };
  for (const plugin of (hook as SdkHook)(service)) stack.use(plugin);
  return client;
}
