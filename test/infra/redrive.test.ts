/** `npm run redrive` against the SQS emulator: every message goes back, body and attributes intact. */
import { ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redrive } from "../../scripts/redrive.ts";

let server: FauxqsServer;
let sqs: SQSClient;

beforeAll(async () => {
  server = await startFauxqs({ port: 0, host: "127.0.0.1", logger: false });
  sqs = new SQSClient({
    endpoint: `http://127.0.0.1:${server.port}`,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
});
afterAll(async () => {
  sqs?.destroy();
  await server?.stop();
});

describe("redrive", () => {
  it("moves every dead-letter message to the source queue and deletes it", async () => {
    const dlq = server.createQueue("SendDeadLetterQueue").queueUrl;
    const queue = server.createQueue("SendQueue").queueUrl;
    for (let batch = 0; batch < 3; batch++)
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: dlq,
          Entries: Array.from({ length: 10 }, (_, i) => ({
            Id: String(i),
            MessageBody: JSON.stringify({ chunkId: `c${batch * 10 + i}` }),
            MessageAttributes: { kind: { DataType: "String", StringValue: "chunk" } },
          })),
        }),
      );

    expect(await redrive(sqs, { from: dlq, to: queue, dryRun: true })).toMatchObject({ moved: 30 });
    expect(await redrive(sqs, { from: dlq, to: queue })).toEqual({ moved: 30, failed: 0, seen: 30 });

    const bodies = new Set<string>();
    for (let i = 0; i < 10 && bodies.size < 30; i++) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ["All"],
        }),
      );
      for (const m of Messages) {
        bodies.add(m.Body ?? "");
        expect(m.MessageAttributes?.kind?.StringValue).toBe("chunk");
      }
    }
    expect(bodies.size).toBe(30);
    const left = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 0 }));
    expect(left.Messages ?? []).toHaveLength(0);
  });
});
