/** IPC messages between the Lambda runner and its container processes (lambda-container.ts). */

/** Lambda's error shape, as the runtime reports it to the Invoke API. */
export interface LambdaError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace?: readonly string[];
}

/** What the runner knows about an invocation; the container builds the `Context` from it. */
export interface InvokeContext {
  readonly awsRequestId: string;
  readonly functionName: string;
  readonly memoryLimitInMB: string;
  readonly invokedFunctionArn: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  /** Epoch milliseconds at which the runner kills the container. */
  readonly deadlineMs: number;
}

export type RunnerMessage = {
  readonly type: "invoke";
  readonly event: unknown;
  readonly context: InvokeContext;
};

/** Counts of AWS requests by `Service.Operation` (sdk-instrumentation.ts); cumulative per container. */
export type AwsRequestCounts = Readonly<Record<string, number>>;

/** Where the container keeps those counts: a `Map<string, number>` that test fixtures may add to. */
export const AWS_REQUEST_COUNTS_KEY = Symbol.for("wechat-fanout.awsRequestCounts");

/** What a container has used so far, cumulative: the runner's stats and the benchmark read it. */
export interface ContainerUsage {
  readonly peakRssBytes: number;
  readonly awsRequests: AwsRequestCounts;
  /** `<service>:<IAM action> <table or queue>` each request needed, counted (the permission check). */
  readonly awsAccess: Readonly<Record<string, number>>;
  readonly dynamoReadUnits: number;
  readonly dynamoWriteUnits: number;
  /** User plus system CPU time of the container process. */
  readonly cpuMs: number;
}

export type ContainerMessage =
  | { readonly type: "ready"; readonly usage: ContainerUsage }
  | { readonly type: "init-error"; readonly error: LambdaError }
  | {
      readonly type: "result";
      readonly awsRequestId: string;
      /** The handler's result serialized as JSON, as Lambda returns it; "null" for undefined. */
      readonly payload: string;
      readonly usage: ContainerUsage;
    }
  | {
      readonly type: "error";
      readonly awsRequestId: string;
      readonly error: LambdaError;
      readonly usage: ContainerUsage;
    }
  /**
   * A response-streaming handler (`awslambda.streamifyResponse`) wrote its first bytes: the stream's
   * content type (`application/vnd.awslambda.http-integration-response` after
   * `awslambda.HttpResponseStream.from`) comes first, as Lambda sends it before the body.
   */
  | { readonly type: "stream-start"; readonly awsRequestId: string; readonly contentType: string }
  /** The next bytes the handler wrote, base64 (the IPC channel carries JSON). */
  | { readonly type: "stream-chunk"; readonly awsRequestId: string; readonly data: string }
  /** The handler ended its stream and its promise resolved. */
  | { readonly type: "stream-end"; readonly awsRequestId: string; readonly usage: ContainerUsage };

/** Lambda's marker on a response-streaming handler, set by `awslambda.streamifyResponse`. */
export const STREAMING_HANDLER = Symbol.for("aws.lambda.runtime.handler.streaming");
/** The content type `awslambda.HttpResponseStream.from` sets: a JSON prelude, 8 NUL bytes, the body. */
export const HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response";
/** A streaming handler that never sets one. */
export const DEFAULT_STREAM_CONTENT_TYPE = "application/octet-stream";
