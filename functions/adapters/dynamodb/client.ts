import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { countAwsRequests, measureDynamoCapacity } from "../aws-request-counter.ts";

/** One document client per container; the endpoint comes from the environment (AWS_ENDPOINT_URL_DYNAMODB). */
export function createDocumentClient(): DynamoDBDocumentClient {
  const client = new DynamoDBClient({});
  client.middlewareStack.use(countAwsRequests());
  client.middlewareStack.use(measureDynamoCapacity());
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
