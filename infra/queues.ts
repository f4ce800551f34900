import { type QueueDef, type QueueKey, queues } from "../common/definitions.ts";

export type { QueueKey } from "../common/definitions.ts";
export interface QueuePair {
  readonly queue: sst.aws.Queue;
  readonly deadLetter: sst.aws.Queue;
  readonly def: QueueDef;
}

/** Dead-letter queues keep a message 14 days (the SQS maximum), time to find and re-drive it. */
const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600;

/**
 * Each queue of definitions.ts with its dead-letter queue. Visibility timeout and maxReceiveCount are
 * the same numbers the local stack (infra/local/emulators.ts) uses.
 */
export function createQueues(): Record<QueueKey, QueuePair> {
  const entries = Object.entries(queues) as [QueueKey, QueueDef][];
  return Object.fromEntries(
    entries.map(([key, def]) => {
      const deadLetter = new sst.aws.Queue(def.deadLetterName, {
        transform: {
          queue: (args: aws.sqs.QueueArgs) => {
            args.messageRetentionSeconds = DEAD_LETTER_RETENTION_SECONDS;
            args.sqsManagedSseEnabled = true;
          },
        },
      });
      const queue = new sst.aws.Queue(def.name, {
        visibilityTimeout: `${def.visibilityTimeoutSeconds} seconds`,
        dlq: { queue: deadLetter.arn, retry: def.maxReceiveCount },
        transform: {
          // Messages (openids, chunk ids) encrypted at rest with SQS-owned keys: free, nothing to manage.
          queue: (args: aws.sqs.QueueArgs) => {
            args.sqsManagedSseEnabled = true;
          },
        },
      });
      return [key, { queue, deadLetter, def }];
    }),
  ) as Record<QueueKey, QueuePair>;
}
