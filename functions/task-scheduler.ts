import { createDocumentClient } from "./adapters/dynamodb/client.ts";
import { DynamoTaskStore } from "./adapters/dynamodb/task-store.ts";
import { createSqsClient, SqsFanoutQueue } from "./adapters/sqs/queues.ts";
import { systemClock } from "./clock.ts";
import { loadConfig, taskSchedulerSchema } from "./config.ts";
import { sendDueTasks } from "./core/scheduled-sends.ts";
import { logger } from "./observability.ts";

const config = loadConfig(taskSchedulerSchema);
const deps = {
  tasks: new DynamoTaskStore(createDocumentClient(), {
    tasks: config.TABLE_TASKS,
    broadcasts: config.TABLE_BROADCASTS,
    // Never touched here: recipients are fixed once a task is scheduled.
    recipients: "",
  }),
  fanoutQueue: new SqsFanoutQueue(createSqsClient(), config.QUEUE_URL_FANOUT),
  clock: systemClock,
};

/** Every minute (EventBridge; the local runner alike): sends the push tasks that are due. */
export async function handler(): Promise<void> {
  const run = await sendDueTasks(deps);
  for (const taskId of run.started) logger.info("scheduled task sent", { taskId });
  for (const { taskId, reason } of run.refused)
    logger.warn("scheduled task refused at its time; back to draft", { taskId, reason });
}
