import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { withHostInstrumentation } from "../sdk-hook.ts";

/** One document client per container; the endpoint comes from the environment (AWS_ENDPOINT_URL_DYNAMODB). */
export function createDocumentClient(): DynamoDBDocumentClient {
  const client = withHostInstrumentation(new DynamoDBClient({}), "dynamodb");
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
