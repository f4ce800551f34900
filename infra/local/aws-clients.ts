/**
 * SDK clients of the local stack's emulators for what runs around it (the Lambda runner's pollers,
 * the benchmarks, the tests), configured from an env as emulators.ts's `awsEnv` gives it. The
 * functions make their own from their environment (functions/adapters).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

type AwsEnv = Readonly<Record<string, string | undefined>>;

function required(env: AwsEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not in the env`);
  return value;
}

function clientConfig(env: AwsEnv, endpointName: "AWS_ENDPOINT_URL_DYNAMODB" | "AWS_ENDPOINT_URL_SQS") {
  return {
    endpoint: required(env, endpointName),
    region: required(env, "AWS_REGION"),
    credentials: {
      accessKeyId: required(env, "AWS_ACCESS_KEY_ID"),
      secretAccessKey: required(env, "AWS_SECRET_ACCESS_KEY"),
    },
  };
}

export function localDynamoClient(env: AwsEnv): DynamoDBClient {
  return new DynamoDBClient(clientConfig(env, "AWS_ENDPOINT_URL_DYNAMODB"));
}

/** Its `destroy()` leaves the client it wraps open, as DynamoDBDocumentClient's always does. */
export function localDocumentClient(env: AwsEnv): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(localDynamoClient(env));
}

export function localSqsClient(env: AwsEnv): SQSClient {
  return new SQSClient(clientConfig(env, "AWS_ENDPOINT_URL_SQS"));
}
