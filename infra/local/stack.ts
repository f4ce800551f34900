/**
 * The whole AWS side on one machine: emulators with every table and queue, then the Lambda runner
 * with every function behind HTTP routes and queue event sources.
 */

import type { FunctionDef } from "../../common/definitions.ts";
import { functions as definedFunctions } from "../../common/definitions.ts";
import { type EmulatorOptions, startEmulators } from "./emulators.ts";
import { type LambdaRunner, startLambdaRunner } from "./lambda-runner.ts";
import type { LocalRoute } from "./runner-http.ts";

export interface LocalStackOptions {
  /** App settings for the functions (WECHAT_API_BASE, ADMIN_TOKEN, …); AWS settings are added. */
  readonly env: Readonly<Record<string, string>>;
  /** HTTP port on 127.0.0.1; 0 or absent picks a free one. */
  readonly port?: number;
  /** Maximum concurrent invocations per function name (queue consumers default to maximumConcurrency). */
  readonly concurrency?: Readonly<Partial<Record<string, number>>>;
  /** Tests only: shorter visibility timeouts etc. Production values come from common/definitions.ts. */
  readonly queueOverrides?: EmulatorOptions["queueOverrides"];
  /** Tests only: other handlers or timeouts for the functions of common/definitions.ts. */
  readonly functionOverrides?: Readonly<Partial<Record<string, Partial<FunctionDef>>>>;
  /** Tests only: fire every schedule this often instead of its rate. */
  readonly scheduleEveryMs?: number;
  /** Count the requests the emulators receive (see request-count-proxy.ts); the benchmark sets it. */
  readonly countEmulatorRequests?: boolean;
  /** Emulator and container output; silent when absent. */
  readonly log?: (line: string) => void;
  /** Routes the runner answers in-process, which no deployment has (runner-http.ts). */
  readonly localRoutes?: readonly LocalRoute[];
}

export interface LocalStack {
  /** `http://127.0.0.1:<port>`: the functions' HTTP routes. */
  readonly baseUrl: string;
  /** Endpoints, credentials, region and resource names (TABLE_*, QUEUE_URL_*). */
  readonly awsEnv: Readonly<Record<string, string>>;
  /** Everything the containers were given: awsEnv plus the app settings. */
  readonly env: Readonly<Record<string, string>>;
  readonly runner: LambdaRunner;
  /** Requests the emulators received, by `Service.Operation` (with `countEmulatorRequests`). */
  emulatorRequests(): Record<string, number>;
  /** SQS requests in 64 KB billing units, by operation (with `countEmulatorRequests`). */
  sqsBilledUnits(): Record<string, number>;
  /** DynamoDB Local's and the SQS emulator's process ids, in that order. */
  readonly emulatorPids: readonly number[];
  /** Emulator and container process ids, for leak checks. */
  pids(): number[];
  stop(): Promise<void>;
}

function applyOverrides(
  overrides: LocalStackOptions["functionOverrides"],
): Readonly<Record<string, FunctionDef>> | undefined {
  if (!overrides) return undefined;
  const merged: Record<string, FunctionDef> = { ...definedFunctions };
  for (const [name, override] of Object.entries(overrides)) {
    const base = merged[name];
    if (!base) throw new Error(`functionOverrides: no function ${name} in common/definitions.ts`);
    merged[name] = { ...base, ...override };
  }
  return merged;
}

export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const emulators = await startEmulators({
    log: opts.log,
    queueOverrides: opts.queueOverrides,
    countRequests: opts.countEmulatorRequests,
  });
  const env = { ...opts.env, ...emulators.awsEnv };
  let runner: LambdaRunner;
  try {
    runner = await startLambdaRunner({
      env,
      queues: emulators.queues,
      functions: applyOverrides(opts.functionOverrides),
      port: opts.port,
      concurrency: opts.concurrency,
      ...(opts.scheduleEveryMs === undefined ? {} : { scheduleEveryMs: opts.scheduleEveryMs }),
      log: opts.log,
      ...(opts.localRoutes ? { localRoutes: opts.localRoutes } : {}),
    });
  } catch (error) {
    await emulators.stop();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    baseUrl: runner.url,
    awsEnv: emulators.awsEnv,
    env,
    runner,
    emulatorRequests: () => emulators.emulatorRequests(),
    sqsBilledUnits: () => emulators.sqsBilledUnits(),
    emulatorPids: emulators.pids,
    pids: () => [...emulators.pids, ...runner.pids()],
    stop() {
      stopping ??= runner.stop().finally(() => emulators.stop());
      return stopping;
    },
  };
}
