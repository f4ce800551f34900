import { GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tables } from "../../common/definitions.ts";
import { localDynamoClient, localSqsClient } from "../../infra/local/aws-clients.ts";
import { type Emulators, startEmulators } from "../../infra/local/emulators.ts";
import { operationOf } from "../../infra/local/request-count-proxy.ts";

let emulators: Emulators;
beforeAll(async () => {
  emulators = await startEmulators({ countRequests: true });
});
afterAll(async () => {
  await emulators?.stop();
});

function clients() {
  return { dynamo: localDynamoClient(emulators.awsEnv), sqs: localSqsClient(emulators.awsEnv) };
}

describe("request-counting proxies in front of the emulators", () => {
  it("count what the SDK sends, by operation, and pass the answers through unchanged", async () => {
    const { dynamo, sqs } = clients();
    const before = emulators.emulatorRequests();
    const key = { eventKey: { S: "proxy-test" } };
    await dynamo.send(new PutItemCommand({ TableName: tables.inbox.name, Item: { ...key, n: { N: "7" } } }));
    await dynamo.send(new PutItemCommand({ TableName: tables.inbox.name, Item: { ...key, n: { N: "8" } } }));
    const got = await dynamo.send(
      new GetItemCommand({ TableName: tables.inbox.name, Key: key, ConsistentRead: true }),
    );
    expect(got.Item?.n).toEqual({ N: "8" });

    const queueUrl = emulators.awsEnv.QUEUE_URL_FANOUT ?? "";
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "x".repeat(70_000) }));
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
    expect(received.Messages?.[0]?.Body).toHaveLength(70_000);

    const after = emulators.emulatorRequests();
    const delta = (op: string) => (after[op] ?? 0) - (before[op] ?? 0);
    expect(delta("DynamoDB.PutItem")).toBe(2);
    expect(delta("DynamoDB.GetItem")).toBe(1);
    expect(delta("SQS.SendMessage")).toBe(1);
    expect(delta("SQS.ReceiveMessage")).toBe(1);
    // A 70,000-byte body is two 64 KB billing units, both ways.
    expect(emulators.sqsBilledUnits()["SQS.SendMessage"]).toBe(2);
    expect(emulators.sqsBilledUnits()["SQS.ReceiveMessage"]).toBe(2);
    dynamo.destroy();
    sqs.destroy();
  });

  it("names operations after the X-Amz-Target header", () => {
    expect(operationOf("DynamoDB_20120810.BatchWriteItem", "POST")).toBe("DynamoDB.BatchWriteItem");
    expect(operationOf("AmazonSQS.SendMessageBatch", "POST")).toBe("SQS.SendMessageBatch");
    expect(operationOf(undefined, "GET")).toBe("?.GET");
  });
});
