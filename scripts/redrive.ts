/**
 * Re-drives a dead-letter queue: moves every message back to its source queue, then deletes it from
 * the dead-letter queue, only after the send succeeded (a crash in between re-sends a message, which
 * the idempotent consumers tolerate; it never loses one). Works against AWS and the local stack alike:
 * the local SQS emulator (fauxqs) has no StartMessageMoveTask, so this receives and sends itself.
 *
 *   npm run redrive -- --from <dead-letter queue URL> --to <queue URL> [--max N] [--dry-run]
 *
 * URLs may also come from REDRIVE_FROM / REDRIVE_TO. `sst deploy` prints them (sendDeadLetterQueueUrl,
 * sendQueueUrl, …). Credentials, region and endpoint are the SDK's usual ones (AWS_PROFILE, AWS_REGION;
 * AWS_ENDPOINT_URL_SQS for the local stack).
 */
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";

export interface RedriveOptions {
  readonly from: string;
  readonly to: string;
  /** Stop after this many messages (default: until the dead-letter queue answers empty). */
  readonly max?: number;
  readonly dryRun?: boolean;
  /** Seconds a received message stays hidden while it is moved. */
  readonly visibilityTimeout?: number;
}

export interface RedriveResult {
  moved: number;
  failed: number;
  seen: number;
}

export async function redrive(sqs: SQSClient, opts: RedriveOptions): Promise<RedriveResult> {
  const result: RedriveResult = { moved: 0, failed: 0, seen: 0 };
  const max = opts.max ?? Number.POSITIVE_INFINITY;
  if (opts.dryRun) {
    // Counting, not receiving: a receive would hide the messages and bump their receive count.
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: opts.from, AttributeNames: ["ApproximateNumberOfMessages"] }),
    );
    const count = Math.min(Number(Attributes?.ApproximateNumberOfMessages ?? 0), max);
    return { moved: count, failed: 0, seen: count };
  }
  while (result.seen < max) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: opts.from,
        MaxNumberOfMessages: Math.min(10, max - result.seen),
        WaitTimeSeconds: 1,
        VisibilityTimeout: opts.visibilityTimeout ?? 60,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["MessageGroupId", "MessageDeduplicationId"],
      }),
    );
    if (Messages.length === 0) break;
    result.seen += Messages.length;
    const byId = new Map<string, Message>(Messages.map((m, i) => [String(i), m]));
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: opts.to,
        Entries: [...byId].map(([id, m]) => ({
          Id: id,
          MessageBody: m.Body ?? "",
          ...(m.MessageAttributes && Object.keys(m.MessageAttributes).length > 0
            ? { MessageAttributes: m.MessageAttributes }
            : {}),
          ...(m.Attributes?.MessageGroupId ? { MessageGroupId: m.Attributes.MessageGroupId } : {}),
          ...(m.Attributes?.MessageDeduplicationId
            ? { MessageDeduplicationId: m.Attributes.MessageDeduplicationId }
            : {}),
        })),
      }),
    );
    const ok = (sent.Successful ?? []).map((s) => s.Id).filter((id): id is string => Boolean(id));
    result.failed += sent.Failed?.length ?? 0;
    for (const failure of sent.Failed ?? [])
      console.error(`could not send message ${byId.get(failure.Id ?? "")?.MessageId}: ${failure.Message}`);
    if (ok.length === 0) continue;
    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: opts.from,
        Entries: ok.map((id) => ({ Id: id, ReceiptHandle: byId.get(id)?.ReceiptHandle ?? "" })),
      }),
    );
    for (const failure of deleted.Failed ?? [])
      console.error(
        `sent but not deleted (will be re-sent by the next run): ${failure.Id} ${failure.Message}`,
      );
    result.moved += ok.length;
  }
  return result;
}

async function main() {
  const { values } = parseArgs({
    options: {
      from: { type: "string", default: process.env.REDRIVE_FROM },
      to: { type: "string", default: process.env.REDRIVE_TO },
      max: { type: "string" },
      "dry-run": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help || !values.from || !values.to) {
    console.error(
      "usage: npm run redrive -- --from <dead-letter queue URL> --to <queue URL> [--max N] [--dry-run]",
    );
    process.exit(values.help ? 0 : 2);
  }
  const sqs = new SQSClient({});
  const result = await redrive(sqs, {
    from: values.from,
    to: values.to,
    ...(values.max ? { max: Number(values.max) } : {}),
    dryRun: values["dry-run"],
  });
  console.log(
    `${values["dry-run"] ? "would move" : "moved"} ${result.moved} message(s) from ${values.from} to ${values.to}` +
      (result.failed ? `; ${result.failed} failed to send and stay in the dead-letter queue` : ""),
  );
  process.exit(result.failed ? 1 : 0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error((error as Error).message);
    process.exit(1);
  });
}
