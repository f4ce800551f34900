/**
 * The one source of truth for table keys, queue settings and function sizing, shared by the SST
 * infrastructure (infra/*.ts) and the local stack (infra/local/). Pure data: no SST or AWS imports,
 * so the local stack and the tests can load it without the SST platform.
 */

export type KeyType = "S" | "N";
export interface KeyDef {
  readonly name: string;
  readonly type: KeyType;
}
export interface IndexDef {
  readonly name: string;
  readonly hashKey: KeyDef;
  readonly rangeKey?: KeyDef;
}
export interface TableDef {
  /** Logical name; the physical name is given by the environment (`TABLE_<LOGICAL>`), locally the same. */
  readonly name: string;
  readonly hashKey: KeyDef;
  readonly rangeKey?: KeyDef;
  readonly indexes?: readonly IndexDef[];
  /** Attribute holding an epoch-seconds expiry; DynamoDB deletes the item some time after it. */
  readonly ttlAttribute?: string;
  /** Holds money or consent: point-in-time recovery on in AWS. */
  readonly critical: boolean;
}

export const tables = {
  subscribers: {
    name: "Subscribers",
    hashKey: { name: "openid", type: "S" },
    critical: true,
  },
  /**
   * Paid posts; the sparse `byCreatedAt` index lists them newest first (the console's broadcasts),
   * the sparse `byReview` index holds only the posts held for review (`reviewQueue` set), by payment.
   */
  posts: {
    name: "Posts",
    hashKey: { name: "outTradeNo", type: "S" },
    indexes: [
      {
        name: "byCreatedAt",
        hashKey: { name: "kind", type: "S" },
        rangeKey: { name: "createdAt", type: "N" },
      },
      {
        name: "byReview",
        hashKey: { name: "reviewQueue", type: "S" },
        rangeKey: { name: "paidAt", type: "N" },
      },
    ],
    critical: true,
  },
  /** One `META` item per broadcast (state, counters) plus short-lived `CHUNK#…` claim items. */
  broadcasts: {
    name: "Broadcasts",
    hashKey: { name: "broadcastId", type: "S" },
    rangeKey: { name: "sk", type: "S" },
    ttlAttribute: "expiresAt",
    critical: false,
  },
  /**
   * Delivery records. A push task's: one item per recipient, sort key the openid. A paid post's: one
   * item per flush of ~25 recipients, sort key `#<chunkId>#<first openid>`, the records in `entries`.
   */
  deliveries: {
    name: "Deliveries",
    hashKey: { name: "broadcastId", type: "S" },
    rangeKey: { name: "openid", type: "S" },
    ttlAttribute: "expiresAt",
    critical: false,
  },
  /**
   * WeChat callback pushes already handled (WeChat retries up to 3 times): dedup keys, kept a day; and
   * delivery reports, `report#<msgid>` with WeChat's status, kept as long as the records they complete.
   */
  inbox: {
    name: "Inbox",
    hashKey: { name: "eventKey", type: "S" },
    ttlAttribute: "expiresAt",
    critical: false,
  },
  tokens: {
    name: "Tokens",
    hashKey: { name: "appId", type: "S" },
    critical: false,
  },
  /**
   * Push tasks (operator-made); the sparse `byCreatedAt` index lists them newest first, the sparse
   * `bySendAt` index holds only scheduled tasks (`due` set) by their time, for the scheduler.
   */
  tasks: {
    name: "PushTasks",
    hashKey: { name: "taskId", type: "S" },
    indexes: [
      {
        name: "byCreatedAt",
        hashKey: { name: "kind", type: "S" },
        rangeKey: { name: "createdAt", type: "N" },
      },
      {
        name: "bySendAt",
        hashKey: { name: "due", type: "S" },
        rangeKey: { name: "sendAt", type: "N" },
      },
    ],
    critical: false,
  },
  /** A push task's uploaded audience: one item per openid, so a repeated openid is stored once. */
  taskRecipients: {
    name: "TaskRecipients",
    hashKey: { name: "taskId", type: "S" },
    rangeKey: { name: "openid", type: "S" },
    critical: false,
  },
  /**
   * Mini-program subscribe-message credits per user: `T#<templateId>` holds the count the mini
   * program reported; `USE#<broadcastId>` marks the credit a task reserved for that user (expires).
   * Critical: it is the users' consent to be messaged.
   */
  credits: {
    name: "SubscriptionCredits",
    hashKey: { name: "openid", type: "S" },
    rangeKey: { name: "sk", type: "S" },
    ttlAttribute: "expiresAt",
    critical: true,
  },
  /**
   * Imports of the account's followers from WeChat: one item per sync (cursor, counters, lease) and
   * `#current`, naming the latest sync, which keeps one running at a time.
   */
  syncs: {
    name: "Syncs",
    hashKey: { name: "syncId", type: "S" },
    critical: false,
  },
} as const satisfies Record<string, TableDef>;

export type TableKey = keyof typeof tables;

export interface FunctionDef {
  /** `file.export` relative to the repository root, as SST's `handler` takes it. */
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /**
   * Public HTTP functions: the most invocations they may run at once, reserved so a flood on one URL
   * is throttled there and never takes the concurrency the senders and the notify need.
   */
  readonly reservedConcurrency?: number;
  /**
   * HTTP functions: the Function URL's invoke mode is RESPONSE_STREAM and the handler is an
   * `awslambda.streamifyResponse` one, so an answer can be written as it is produced (and exceed the
   * 6 MB of a buffered one). BUFFERED when absent.
   */
  readonly streaming?: boolean;
}

export const functions = {
  /** WeChat Pay's notifies: one per payment, retried for 24 h; a burst of re-deliveries fits in 20. */
  notify: { handler: "functions/notify.handler", timeoutSeconds: 10, memoryMb: 256, reservedConcurrency: 20 },
  /** The operator's console and the business app; streaming for the CSV exports. */
  admin: {
    handler: "functions/admin.handler",
    timeoutSeconds: 30,
    memoryMb: 256,
    reservedConcurrency: 10,
    streaming: true,
  },
  fanout: { handler: "functions/fanout.handler", timeoutSeconds: 60, memoryMb: 256 },
  /**
   * Short, so a crashed sender's chunk comes back after 6 × 15 s: the sender starts no WeChat call in
   * its last WECHAT_TIMEOUT_MS + a few seconds, so an invocation never needs longer.
   */
  sender: { handler: "functions/sender.handler", timeoutSeconds: 15, memoryMb: 512 },
  /**
   * WeChat waits 5 s for an answer to a push, then retries; a slower answer is worthless. Delivery
   * reports come at the pace of the sends (thousands a second at most, ~25 ms each): 100 at once.
   */
  callback: {
    handler: "functions/callback.handler",
    timeoutSeconds: 5,
    memoryMb: 256,
    reservedConcurrency: 100,
  },
  /**
   * Refresher mode: the only holder of the AppSecret and the only caller of stable_token, on its
   * schedule and when a sender asks. External mode: watches the pushed token's age.
   */
  tokenRefresher: { handler: "functions/token-refresher.handler", timeoutSeconds: 20, memoryMb: 128 },
  /** External mode: the account's central token server pushes the token here. */
  tokenPush: {
    handler: "functions/token-push.handler",
    timeoutSeconds: 10,
    memoryMb: 128,
    reservedConcurrency: 2,
  },
  /** Every minute: starts the push tasks whose scheduled time has come. */
  taskScheduler: { handler: "functions/task-scheduler.handler", timeoutSeconds: 30, memoryMb: 128 },
  /**
   * Pages the account's follower list (user/get, 10,000 a page) into Subscribers. A page takes a few
   * seconds in AWS; it starts no page it could not finish before its timeout.
   */
  followerSync: { handler: "functions/follower-sync.handler", timeoutSeconds: 120, memoryMb: 256 },
  /**
   * Delivers paid posts' broadcast events to the business app's webhook, signed: up to 5 at once per
   * invocation, each try waiting at most 10 s for the answer (BROADCAST_WEBHOOK_TIMEOUT_MS).
   */
  webhook: { handler: "functions/webhook.handler", timeoutSeconds: 30, memoryMb: 128 },
  /**
   * Every minute: sends parked chunks (quiet hours, quota pauses) back to the send queue once they
   * may go, asking WeChat's quota/get while a broadcast is paused. One Query when nothing is parked.
   */
  resumer: { handler: "functions/resumer.handler", timeoutSeconds: 60, memoryMb: 256 },
} as const satisfies Record<string, FunctionDef>;

export type FunctionKey = keyof typeof functions;

/**
 * The functions that call WeChat: they run in the VPC whose NAT gives them whitelisted IPs. The
 * admin function sends previews and lists the account's templates.
 */
export const WECHAT_CALLERS = [
  "sender",
  "tokenRefresher",
  "followerSync",
  "admin",
  "resumer",
] as const satisfies readonly FunctionKey[];

export interface QueueDef {
  readonly name: string;
  readonly deadLetterName: string;
  /** AWS advice for Lambda consumers: at least six times the function timeout. */
  readonly visibilityTimeoutSeconds: number;
  /** Receives before SQS moves a message to the dead-letter queue. */
  readonly maxReceiveCount: number;
  readonly consumer: {
    readonly function: keyof typeof functions;
    readonly batchSize: number;
    readonly maximumBatchingWindowSeconds: number;
    /** Caps concurrent invocations: protects WeChat's rate limits and DynamoDB. */
    readonly maximumConcurrency: number;
  };
}

export const queues = {
  fanout: {
    name: "FanoutQueue",
    deadLetterName: "FanoutDeadLetterQueue",
    visibilityTimeoutSeconds: 6 * functions.fanout.timeoutSeconds,
    maxReceiveCount: 5,
    consumer: { function: "fanout", batchSize: 1, maximumBatchingWindowSeconds: 0, maximumConcurrency: 2 },
  },
  send: {
    name: "SendQueue",
    deadLetterName: "SendDeadLetterQueue",
    visibilityTimeoutSeconds: 6 * functions.sender.timeoutSeconds,
    maxReceiveCount: 5,
    consumer: { function: "sender", batchSize: 5, maximumBatchingWindowSeconds: 0, maximumConcurrency: 10 },
  },
  /** A sender had the token refused: the refresher fetches the successor (one refresh at a time). */
  tokenRefresh: {
    name: "TokenRefreshQueue",
    deadLetterName: "TokenRefreshDeadLetterQueue",
    visibilityTimeoutSeconds: 6 * functions.tokenRefresher.timeoutSeconds,
    maxReceiveCount: 3,
    consumer: {
      function: "tokenRefresher",
      batchSize: 10,
      maximumBatchingWindowSeconds: 0,
      maximumConcurrency: 2,
    },
  },
  /**
   * A follower sync's next pages. One message per sync at a time (its lease in the Syncs table);
   * 2 is the lowest maximumConcurrency Lambda allows.
   */
  sync: {
    name: "SyncQueue",
    deadLetterName: "SyncDeadLetterQueue",
    visibilityTimeoutSeconds: 6 * functions.followerSync.timeoutSeconds,
    maxReceiveCount: 5,
    consumer: {
      function: "followerSync",
      batchSize: 1,
      maximumBatchingWindowSeconds: 0,
      maximumConcurrency: 2,
    },
  },
  /**
   * Broadcast events for the business app's webhook. A failed try hides its message for a growing
   * visibility timeout (core/webhook-delivery.ts): 20 receives span about 24 h, then the DLQ.
   */
  webhook: {
    name: "WebhookQueue",
    deadLetterName: "WebhookDeadLetterQueue",
    visibilityTimeoutSeconds: 6 * functions.webhook.timeoutSeconds,
    maxReceiveCount: 20,
    consumer: { function: "webhook", batchSize: 5, maximumBatchingWindowSeconds: 0, maximumConcurrency: 2 },
  },
} as const satisfies Record<string, QueueDef>;

export type QueueKey = keyof typeof queues;

/** The item-level DynamoDB actions a function may be granted (a transaction's items count as theirs). */
export type DynamoAction =
  | "GetItem"
  | "BatchGetItem"
  | "Query"
  | "Scan"
  | "PutItem"
  | "UpdateItem"
  | "DeleteItem"
  | "BatchWriteItem";
/** The message-level SQS actions a function makes itself; a consumer's receive and delete are added for its queue. */
export type SqsAction = "SendMessage" | "ChangeMessageVisibility";

export interface FunctionPermissions {
  readonly tables: Partial<Record<TableKey, readonly DynamoAction[]>>;
  readonly queues: Partial<Record<QueueKey, readonly SqsAction[]>>;
}

/**
 * What each function may do, and on what: least privilege, nothing else (no table-level action, no
 * `*`). The local stack records every request's action and resource and checks them against this
 * (test/e2e/harness.ts), so a missing entry fails the tests instead of the first call in AWS.
 */
export const permissions = {
  notify: {
    tables: { posts: ["GetItem", "UpdateItem"], broadcasts: ["GetItem", "PutItem"] },
    queues: { fanout: ["SendMessage"], webhook: ["SendMessage"] },
  },
  admin: {
    tables: {
      // GetItem, and Query on credits, broadcasts (chunk claims) and deliveries: the subscriber lookup
      // and the previews' consent check. UpdateItem on posts: approving and rejecting held ones.
      subscribers: ["GetItem", "UpdateItem"],
      posts: ["GetItem", "PutItem", "Query", "UpdateItem"],
      // UpdateItem: an operator's resume of a quota pause.
      broadcasts: ["GetItem", "BatchGetItem", "PutItem", "Query", "UpdateItem"],
      tasks: ["GetItem", "PutItem", "UpdateItem", "Query"],
      taskRecipients: ["PutItem"],
      deliveries: ["Query", "GetItem"],
      credits: ["GetItem", "PutItem", "UpdateItem", "Query"],
      tokens: ["GetItem", "UpdateItem"],
      syncs: ["GetItem", "PutItem", "UpdateItem"],
    },
    queues: {
      fanout: ["SendMessage"],
      send: ["SendMessage"],
      tokenRefresh: ["SendMessage"],
      sync: ["SendMessage"],
      webhook: ["SendMessage"],
    },
  },
  fanout: {
    tables: {
      // PutItem: a page's chunks parked in quiet hours or a quota pause.
      broadcasts: ["GetItem", "UpdateItem", "PutItem"],
      // BatchGetItem: who of a push task's uploaded list is suppressed.
      subscribers: ["Scan", "BatchGetItem"],
      taskRecipients: ["Query"],
      deliveries: ["Query"],
      inbox: ["BatchGetItem"],
    },
    queues: { fanout: ["SendMessage"], send: ["SendMessage"], webhook: ["SendMessage"] },
  },
  sender: {
    tables: {
      // PutItem: a chunk's pending rest parked in quiet hours or a quota pause.
      broadcasts: ["GetItem", "UpdateItem", "PutItem"],
      deliveries: ["BatchGetItem", "BatchWriteItem", "PutItem", "Query"],
      // BatchGetItem: a capped chunk's daily-cap slots (MAX_POSTS_PER_SUBSCRIBER_PER_DAY).
      subscribers: ["GetItem", "UpdateItem", "BatchGetItem"],
      tokens: ["GetItem", "UpdateItem"],
      credits: ["PutItem", "UpdateItem"],
    },
    queues: {
      send: ["SendMessage", "ChangeMessageVisibility"],
      tokenRefresh: ["SendMessage"],
      webhook: ["SendMessage"],
    },
  },
  callback: {
    tables: { inbox: ["PutItem", "DeleteItem"], subscribers: ["UpdateItem"] },
    queues: {},
  },
  tokenRefresher: {
    tables: { tokens: ["GetItem", "PutItem", "UpdateItem"] },
    queues: {},
  },
  tokenPush: {
    tables: { tokens: ["PutItem", "UpdateItem"] },
    queues: {},
  },
  taskScheduler: {
    tables: { tasks: ["Query", "GetItem", "UpdateItem"], broadcasts: ["PutItem"] },
    queues: { fanout: ["SendMessage"] },
  },
  followerSync: {
    tables: { syncs: ["UpdateItem"], subscribers: ["UpdateItem"], tokens: ["GetItem", "UpdateItem"] },
    queues: { tokenRefresh: ["SendMessage"], sync: ["SendMessage"] },
  },
  // No table: a failed try only hides its own message for the backoff.
  webhook: {
    tables: {},
    queues: { webhook: ["ChangeMessageVisibility"] },
  },
  resumer: {
    tables: {
      // Query: the parked broadcasts and their parked chunks; BatchWriteItem: removing the ones sent on.
      broadcasts: ["GetItem", "Query", "UpdateItem", "DeleteItem", "BatchWriteItem"],
      tokens: ["GetItem", "UpdateItem"],
    },
    queues: { send: ["SendMessage"], tokenRefresh: ["SendMessage"], webhook: ["SendMessage"] },
  },
} as const satisfies Record<FunctionKey, FunctionPermissions>;

/** What Lambda's event source mapping does with the function's role on the queue it consumes. */
export const CONSUMER_ACTIONS = [
  "sqs:ReceiveMessage",
  "sqs:DeleteMessage",
  "sqs:GetQueueAttributes",
] as const;

export interface ScheduleDef {
  readonly function: keyof typeof functions;
  /** EventBridge rate in minutes (`rate(N minutes)`); the local runner fires at the same rate. */
  readonly everyMinutes: number;
  /** The event the function receives. */
  readonly event: Readonly<Record<string, string>>;
}

export const schedules = {
  /**
   * Refreshes the token inside its last five minutes (stable_token's pre-rotation window), or in
   * external mode raises TokenStale when no newer push came.
   */
  tokenRefresh: { function: "tokenRefresher", everyMinutes: 1, event: { trigger: "schedule" } },
  /** A task scheduled for 09:00 starts between 09:00 and 09:01. */
  dueTasks: { function: "taskScheduler", everyMinutes: 1, event: { trigger: "schedule" } },
  /**
   * Parked chunks go on within a minute of quiet hours ending, of WeChat's quota coming back (asked
   * every QUOTA_CHECK_MINUTES, and at the first run after 00:00 Beijing time) or of a resume.
   */
  resumeParked: { function: "resumer", everyMinutes: 1, event: { trigger: "schedule" } },
} as const satisfies Record<string, ScheduleDef>;

/** Recipients per send-queue message; 100 is also BatchGetItem's key limit, one read per chunk. */
export const CHUNK_SIZE = 100;
/** Subscribers read per fan-out invocation (one Scan page). */
export const AUDIENCE_PAGE_SIZE = 1000;

export interface HttpRouteDef {
  /** Any method when absent. */
  readonly method?: string;
  readonly path: string;
  /** Match every path starting with `path` (which then ends in `/`). */
  readonly prefix?: boolean;
  /** A key of `functions`; routes to functions that do not exist (yet) are skipped. */
  readonly function: string;
}

/** Public HTTP entry points and the function behind each. */
export const httpRoutes = [
  { method: "POST", path: "/wechatpay/notify", function: "notify" },
  // Before the `/api/` prefix: the central token server's push has its own function and secret.
  { method: "PUT", path: "/api/access-token", function: "tokenPush" },
  { path: "/api/", prefix: true, function: "admin" },
  // The operator console (static page and assets), served by the admin function without the token.
  { method: "GET", path: "/admin", function: "admin" },
  { method: "GET", path: "/admin/", prefix: true, function: "admin" },
  { path: "/wechat/callback", function: "callback" },
] as const satisfies readonly HttpRouteDef[];

/**
 * Secrets: the SST `Secret` name (`npx sst secret set <Name> …`) and the environment variable that
 * carries the same value locally. In AWS they reach a function only through `link` (encrypted into the
 * bundle, read with `Resource.<Name>.value`), never as plain environment variables.
 */
export const secrets = {
  WechatAppSecret: "WECHAT_APP_SECRET",
  WechatPayApiV3Key: "WECHATPAY_APIV3_KEY",
  /** The WeChat Pay platform public key, the PEM text itself (locally: WECHATPAY_PUBLIC_KEY_FILE). */
  WechatPayPublicKey: "WECHATPAY_PUBLIC_KEY",
  WechatCallbackToken: "WECHAT_CALLBACK_TOKEN",
  /** Safe mode (安全模式): the OA's EncodingAESKey, and the one before a rotation. Optional. */
  WechatEncodingAesKey: "WECHAT_ENCODING_AES_KEY",
  WechatEncodingAesKeyPrevious: "WECHAT_ENCODING_AES_KEY_PREVIOUS",
  AdminToken: "ADMIN_TOKEN",
  /** The business app's bearer token: posts, subscriber imports and subscribe credits only. */
  AppToken: "APP_TOKEN",
  /** External token mode: the central token server's bearer secret. */
  WechatTokenPushSecret: "WECHAT_TOKEN_PUSH_SECRET",
  /** The HMAC key the webhook signs the business app's broadcast events with. Optional. */
  BroadcastWebhookSecret: "BROADCAST_WEBHOOK_SECRET",
} as const;
export type SecretName = keyof typeof secrets;

/**
 * Secrets a deploy may leave unset: they get this placeholder (so `sst deploy` does not stop), and a
 * function treats it as unset.
 */
export const OPTIONAL_SECRETS = [
  "WechatEncodingAesKey",
  "WechatEncodingAesKeyPrevious",
  "BroadcastWebhookSecret",
] as const satisfies readonly SecretName[];
/** Optional secrets a setting makes required: with the setting given, the deploy stops without them. */
export const SECRETS_REQUIRED_BY: Partial<Record<SecretName, string>> = {
  BroadcastWebhookSecret: "BROADCAST_WEBHOOK_URL",
};
export const SECRET_UNSET = "unset";

/** CloudWatch Logs retention of every function's log group (SST's retention names). */
export const LOG_RETENTION = "1 month";

/** Custom metrics (Embedded Metric Format, Powertools Metrics) and the alarms on them. */
export const metrics = {
  namespace: "WeChatFanout",
  /** Powertools adds a `service` dimension with this value to every metric. */
  service: "wechat-fanout",
  names: {
    /** Per settled chunk: recipients sent, failed (permanently), skipped. */
    sent: "DeliveriesSent",
    failed: "DeliveriesFailed",
    skipped: "DeliveriesSkipped",
    /** Failed recipients with an extra `errcode` dimension (one EMF line per errcode per chunk). */
    failedByErrcode: "DeliveriesFailedByErrcode",
    /** A chunk paused because WeChat's daily quota ran out (errcode 45009). */
    quotaExhausted: "QuotaExhausted",
    /** The refresher's stable_token fetches, and its failures (or chunks left waiting for a token). */
    tokenRefreshes: "TokenRefreshes",
    tokenRefreshFailures: "TokenRefreshFailures",
    /** Tokens a sender had refused by WeChat (40001/42001/40014) and reported. */
    tokenRejections: "TokenRejections",
    /** External mode: the pushed token is missing, refused, or within 10 minutes of expiry. */
    tokenStale: "TokenStale",
    /** A payment notify answered 5xx (WeChat Pay retries it; ours to fix). */
    notifyFailures: "NotifyFailures",
  },
} as const;

export const alarmThresholds = {
  /** Evaluation period of every alarm. */
  periodSeconds: 300,
  /**
   * Oldest send-queue message older than this means the pipeline is stalled. Above the longest
   * transient back-off (15 min); quota pauses and quiet hours park their chunks outside the queue.
   */
  sendQueueOldestMessageSeconds: 1800,
  /** Failed / (sent + failed) over a period, once at least `deliveryFailureMinVolume` were tried. */
  deliveryFailureRate: 0.2,
  deliveryFailureMinVolume: 50,
} as const;
