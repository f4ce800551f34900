/**
 * Every function's settings as zod schemas, read and checked once at start-up. It is long (over 300
 * lines) because it is the one list of what each function reads: the deploy derives environments,
 * links, grants and secrets from it, so splitting it would split that list.
 */
import { readFileSync } from "node:fs";
import { Resource } from "sst/resource";
import { z } from "zod";
import { AUDIENCE_PAGE_SIZE, SECRET_UNSET, secrets } from "../common/definitions.ts";
import { type BlockedTerm, parseBlocklist } from "./core/blocklist.ts";
import type { MessageSettings } from "./core/broadcast-message.ts";
import { MAX_DAILY_CAP } from "./core/daily-cap.ts";
import { isTimeZone, parseQuietHours, type QuietHours, quietHoursProblem } from "./core/quiet-hours.ts";
import { DEFAULT_TALLY_DELAY_SECONDS } from "./core/tally-reports.ts";
import { parseTemplateFieldMapping } from "./core/template-data.ts";
import { WEBHOOK_RETRY_BASE_SECONDS } from "./core/webhook-delivery.ts";

/** Raised at start-up when the environment lacks or garbles a setting; names the variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const required = z.string().trim().min(1, "is required");
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
/** An optional setting, where an empty value means unset. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

/**
 * WeChat calls in flight per sender container: 10 containers × 32 calls at a 100 ms round trip is
 * ~3,200 messages a second; WeChat documents no rate limit for template sends, only the daily quota.
 */
export const DEFAULT_MAX_IN_FLIGHT = 32;

/** Per WeChat call, the fallback domain included. */
export const DEFAULT_WECHAT_TIMEOUT_MS = 5000;
/** How long one webhook try waits for the business app's answer, by default. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;

export const OFFICIAL_API_BASE = "https://api.weixin.qq.com";
/** WeChat's disaster-recovery twin of the official domain (WECHAT_FACTS §10.3). */
export const OFFICIAL_API_FALLBACK = "https://api2.weixin.qq.com";

/**
 * Where the access token comes from: `refresher`, this stage's own refresher function (the only
 * holder of the AppSecret), or `external`, the account's central token server (中控服务器), which
 * pushes it to `PUT /api/access-token`.
 */
const tokenSource = z.enum(["refresher", "external"]).default("refresher");

/** A refinement: the setting `key` is required while WECHAT_TOKEN_SOURCE is `source`. */
function requiredForTokenSource<K extends string>(key: K, source: z.output<typeof tokenSource>) {
  return (config: { WECHAT_TOKEN_SOURCE: string } & { [k in K]?: string }, ctx: z.RefinementCtx) => {
    if (config.WECHAT_TOKEN_SOURCE === source && !config[key])
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: `is required when WECHAT_TOKEN_SOURCE is ${source}`,
      });
  };
}

/** Plain http only to this machine's own loopback (the local simulator): the AppSecret and tokens travel in these. */
export function isSafeApiBase(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return (
    protocol === "https:" || (protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(hostname))
  );
}
const apiBase = z
  .url()
  .refine(isSafeApiBase, "must be https:// (plain http only to a loopback address, for the local simulator)");

/** Every function that calls WeChat: the API's domain, its fallback and the per-call timeout. */
const wechatApi = {
  WECHAT_API_BASE: apiBase.default(OFFICIAL_API_BASE),
  /** Tried once after a transport failure, for calls WeChat de-duplicates; default: api2 for the official domain. */
  WECHAT_API_FALLBACK_BASE: optional(apiBase),
  WECHAT_TIMEOUT_MS: positiveInt(DEFAULT_WECHAT_TIMEOUT_MS),
};

/**
 * Every function that calls WeChat with the shared access token: the token table, where to ask for
 * a refresh after WeChat refused it (refresher mode), the API and the token's source.
 */
const wechatCaller = {
  TABLE_TOKENS: required,
  /** Where a caller asks for a refresh after WeChat refused the token (refresher mode). */
  QUEUE_URL_TOKEN_REFRESH: required,
  WECHAT_APP_ID: required,
  WECHAT_TOKEN_SOURCE: tokenSource,
  ...wechatApi,
};
export type WeChatCallerConfig = z.output<z.ZodObject<typeof wechatCaller>>;

/** How push-task messages open the mini program linked to the OA. */
const miniProgram = {
  /** The mini program linked to the OA: push-task template messages then open their page in it. */
  WECHAT_MINIPROGRAM_APP_ID: optional(
    z
      .string()
      .trim()
      .regex(/^wx[0-9A-Za-z]{14,30}$/, "must be a mini program AppID (wx…)"),
  ),
  /** Which version of the mini program push-task subscribe messages open (WeChat's default: formal). */
  WECHAT_MINIPROGRAM_STATE: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z.enum(["developer", "trial", "formal"]).default("formal"),
  ),
};

/** The fallback domain for a base URL: the configured one, or api2 when the base is WeChat's own. */
export function fallbackBaseUrl(config: {
  WECHAT_API_BASE: string;
  WECHAT_API_FALLBACK_BASE?: string | undefined;
}): string | undefined {
  if (config.WECHAT_API_FALLBACK_BASE) return config.WECHAT_API_FALLBACK_BASE;
  return new URL(config.WECHAT_API_BASE).origin === OFFICIAL_API_BASE ? OFFICIAL_API_FALLBACK : undefined;
}

/** The broadcast's message, built when a post is paid. */
const postMessage = {
  WECHAT_APP_ID: required,
  WECHAT_TEMPLATE_ID: required,
  /** Template keys → post fields; the default suits a 供需信息 category template. */
  WECHAT_TEMPLATE_FIELDS: z
    .string()
    .default('{"thing1":"content","time2":"paidAt"}')
    .transform((json, ctx) => {
      try {
        return parseTemplateFieldMapping(json);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /** Template message link; `{outTradeNo}` is replaced. */
  POST_URL: z.string().optional(),
};

/** The template message's settings for a paid post's broadcast (core/broadcast-message.ts). */
export function postMessageSettings(config: z.output<z.ZodObject<typeof postMessage>>): MessageSettings {
  return {
    templateId: config.WECHAT_TEMPLATE_ID,
    fieldMapping: config.WECHAT_TEMPLATE_FIELDS,
    ...(config.POST_URL ? { postUrl: config.POST_URL } : {}),
  };
}

/** A blocklist's text (core/blocklist.ts); an unusable entry is the setting's issue, named. */
function blockedTerms(text: string, ctx: z.RefinementCtx): BlockedTerm[] {
  try {
    return parseBlocklist(text);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
}

/** The review of paid posts before they go out (core/post-review.ts). */
const postReview = {
  /** `keywords`: a post matching the blocklist is held; `manual`: every paid post is; `off`: none. */
  POST_REVIEW: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z.enum(["off", "keywords", "manual"]).default("keywords"),
  ),
  /** Blocked words and /patterns/, separated by commas or new lines (a plain setting in AWS). */
  POST_BLOCKED_WORDS: optional(z.string().transform(blockedTerms)),
  /** Local runs: a file with one word or /pattern/ per line, `#` for comments; added to the above. */
  POST_BLOCKED_WORDS_FILE: optional(
    z.string().transform((file, ctx): BlockedTerm[] => {
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (error) {
        ctx.addIssue({ code: "custom", message: `cannot be read: ${(error as Error).message}` });
        return z.NEVER;
      }
      return blockedTerms(text, ctx);
    }),
  ),
};

/**
 * Where a function tells the business app's webhook what happened to a paid post's broadcast
 * (functions/broadcast-events.ts). Without a URL the events are dropped.
 */
const webhookUrl = z
  .url()
  .refine(isSafeApiBase, "must be https:// (plain http only to a loopback address, for local runs)");
const broadcastEvents = {
  QUEUE_URL_WEBHOOK: required,
  BROADCAST_WEBHOOK_URL: optional(webhookUrl),
};

export const notifySchema = z.object({
  TABLE_POSTS: required,
  TABLE_BROADCASTS: required,
  QUEUE_URL_FANOUT: required,
  ...postMessage,
  WECHATPAY_MCH_ID: required,
  WECHATPAY_APIV3_KEY: required.refine((k) => Buffer.byteLength(k) === 32, "must be 32 bytes"),
  WECHATPAY_PUBLIC_KEY_ID: required.regex(/^PUB_KEY_ID_\w+$/, "must look like PUB_KEY_ID_…"),
  /** The PEM itself (an SST secret in AWS) or a file holding it (local). */
  WECHATPAY_PUBLIC_KEY: z.string().optional(),
  WECHATPAY_PUBLIC_KEY_FILE: z.string().optional(),
  /**
   * Optional JSON {serial: PEM} for merchants still migrating from platform certificates: the
   * certificate's PEM text (public, so a plain setting in AWS) or, locally, the path of its file.
   */
  WECHATPAY_PLATFORM_CERT_FILES: z
    .string()
    .default("{}")
    .transform((json, ctx) => {
      try {
        return z.record(z.string(), z.string()).parse(JSON.parse(json));
      } catch {
        ctx.addIssue({ code: "custom", message: 'must be a JSON object {"<serial>": "<PEM or PEM file>"}' });
        return z.NEVER;
      }
    }),
  ...postReview,
  ...broadcastEvents,
});

/**
 * Quiet hours (免打扰时段): no broadcast sends inside the daily window `HH:MM-HH:MM` (it may wrap
 * midnight: `22:00-08:00`) of QUIET_HOURS_TZ; unset, there are none. Every function that decides
 * whether a chunk may go now reads the same two.
 */
const quietHours = {
  QUIET_HOURS: optional(
    z
      .string()
      .trim()
      .superRefine((spec, ctx) => {
        const problem = quietHoursProblem(spec);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
  ),
  QUIET_HOURS_TZ: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z
      .string()
      .trim()
      .refine(isTimeZone, "must be an IANA time zone, e.g. Asia/Shanghai")
      .default("Asia/Shanghai"),
  ),
};

/** The quiet hours a config names; undefined when QUIET_HOURS is unset. */
export function quietHoursOf(config: {
  QUIET_HOURS?: string | undefined;
  QUIET_HOURS_TZ: string;
}): QuietHours | undefined {
  return config.QUIET_HOURS ? parseQuietHours(config.QUIET_HOURS, config.QUIET_HOURS_TZ) : undefined;
}

export const senderSchema = z.object({
  TABLE_BROADCASTS: required,
  TABLE_DELIVERIES: required,
  TABLE_SUBSCRIBERS: required,
  TABLE_CREDITS: required,
  QUEUE_URL_SEND: required,
  ...wechatCaller,
  WECHAT_MAX_IN_FLIGHT: positiveInt(DEFAULT_MAX_IN_FLIGHT),
  /** First retry delay of a chunk with transient failures; doubles per receive. */
  SEND_RETRY_DELAY_SECONDS: positiveInt(20),
  ...miniProgram,
  ...broadcastEvents,
  /**
   * The most paid-post messages a subscriber gets in any 24 hours (core/daily-cap.ts); the rest are
   * skipped with `daily cap`. Unset: no cap. Push tasks are never capped.
   */
  MAX_POSTS_PER_SUBSCRIBER_PER_DAY: optional(
    z.coerce
      .number()
      .int("must be a whole number")
      .min(1, "must be at least 1 (unset it for no cap)")
      .max(MAX_DAILY_CAP, `must be at most ${MAX_DAILY_CAP}`),
  ),
  ...quietHours,
});

export const tokenRefresherSchema = z
  .object({
    TABLE_TOKENS: required,
    WECHAT_APP_ID: required,
    WECHAT_TOKEN_SOURCE: tokenSource,
    /** Only the refresher holds it, and only in refresher mode. */
    WECHAT_APP_SECRET: optional(z.string().trim()),
    ...wechatApi,
  })
  .superRefine(requiredForTokenSource("WECHAT_APP_SECRET", "refresher"));

export const tokenPushSchema = z
  .object({
    TABLE_TOKENS: required,
    WECHAT_APP_ID: required,
    WECHAT_TOKEN_SOURCE: tokenSource,
    /** The central token server's bearer secret for `PUT /api/access-token`. */
    WECHAT_TOKEN_PUSH_SECRET: optional(z.string().trim().min(16, "must be at least 16 characters")),
  })
  .superRefine(requiredForTokenSource("WECHAT_TOKEN_PUSH_SECRET", "external"));

export const fanoutSchema = z.object({
  TABLE_BROADCASTS: required,
  TABLE_SUBSCRIBERS: required,
  TABLE_TASK_RECIPIENTS: required,
  TABLE_DELIVERIES: required,
  TABLE_INBOX: required,
  QUEUE_URL_FANOUT: required,
  QUEUE_URL_SEND: required,
  /** Subscribers read per fan-out invocation; smaller pages mean shorter invocations. */
  FANOUT_PAGE_SIZE: positiveInt(AUDIENCE_PAGE_SIZE),
  /**
   * Base delay of the delivery-report tally: its passes run this long, ten and sixty times this long
   * after a broadcast settles (core/tally-reports.ts).
   */
  REPORT_TALLY_DELAY_SECONDS: positiveInt(DEFAULT_TALLY_DELAY_SECONDS),
  ...broadcastEvents,
  ...quietHours,
});

/**
 * The resumer (every minute): sends parked chunks on once quiet hours end or the quota is back,
 * asking WeChat's quota/get with the shared token.
 */
export const resumerSchema = z.object({
  TABLE_BROADCASTS: required,
  QUEUE_URL_SEND: required,
  ...wechatCaller,
  ...quietHours,
  ...broadcastEvents,
  /** Minutes between quota/get checks while a broadcast is paused (also right after 00:00 Beijing time); 0: every run. */
  QUOTA_CHECK_MINUTES: z.coerce.number().int().nonnegative().default(15),
});

export const adminSchema = z.object({
  TABLE_SUBSCRIBERS: required,
  TABLE_POSTS: required,
  TABLE_BROADCASTS: required,
  TABLE_TASKS: required,
  TABLE_TASK_RECIPIENTS: required,
  TABLE_DELIVERIES: required,
  TABLE_CREDITS: required,
  QUEUE_URL_FANOUT: required,
  QUEUE_URL_SEND: required,
  TABLE_SYNCS: required,
  QUEUE_URL_SYNC: required,
  // Previews: the admin function sends a task's or a post's message to test openids itself.
  ...wechatCaller,
  ...postMessage,
  ...miniProgram,
  ADMIN_TOKEN: required.min(16, "must be at least 16 characters"),
  /** The business app's token: posts, subscriber imports and subscribe credits only. */
  APP_TOKEN: required.min(16, "must be at least 16 characters"),
  ...broadcastEvents,
});

export const taskSchedulerSchema = z.object({
  TABLE_TASKS: required,
  TABLE_BROADCASTS: required,
  QUEUE_URL_FANOUT: required,
});

/** The follower sync: pages the account's follower list (user/get) into Subscribers. */
export const followerSyncSchema = z.object({
  TABLE_SYNCS: required,
  TABLE_SUBSCRIBERS: required,
  /** Its own queue: where it hands a sync's next pages to its next invocation. */
  QUEUE_URL_SYNC: required,
  ...wechatCaller,
});

/** The webhook function: delivers the queued broadcast events to the business app, signed. */
export const webhookSchema = z
  .object({
    /** Its own queue: where a failed try comes back later. */
    QUEUE_URL_WEBHOOK: required,
    BROADCAST_WEBHOOK_URL: optional(webhookUrl),
    /** The HMAC key of X-Fanout-Signature (an SST secret in AWS). */
    BROADCAST_WEBHOOK_SECRET: optional(z.string().trim().min(16, "must be at least 16 characters")),
    /** The wait after the first failed try; each later one doubles, up to 2 h (core/webhook-delivery.ts). */
    BROADCAST_WEBHOOK_RETRY_SECONDS: positiveInt(WEBHOOK_RETRY_BASE_SECONDS),
    /** Per try: the business app's answer must come by then. */
    BROADCAST_WEBHOOK_TIMEOUT_MS: positiveInt(DEFAULT_WEBHOOK_TIMEOUT_MS),
  })
  .superRefine((config, ctx) => {
    if (config.BROADCAST_WEBHOOK_URL && !config.BROADCAST_WEBHOOK_SECRET)
      ctx.addIssue({
        code: "custom",
        path: ["BROADCAST_WEBHOOK_SECRET"],
        message: "is required when BROADCAST_WEBHOOK_URL is set (every delivery is signed with it)",
      });
  });

const encodingAesKey = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9+/]{43}$/, "must be 43 base64 characters (the OA's EncodingAESKey)");

export const callbackSchema = z.object({
  TABLE_SUBSCRIBERS: required,
  TABLE_INBOX: required,
  WECHAT_APP_ID: required,
  /** The OA's server-configuration Token: every push is signed with it. */
  WECHAT_CALLBACK_TOKEN: required.regex(
    /^[A-Za-z0-9]{3,32}$/,
    "must be 3–32 letters or digits (WeChat's rule)",
  ),
  /** Safe mode (安全模式): every push must then be encrypted. Unset: plaintext pushes only. */
  WECHAT_ENCODING_AES_KEY: optional(encodingAesKey),
  /** The key before a rotation, tried when the current one cannot decrypt a push. */
  WECHAT_ENCODING_AES_KEY_PREVIOUS: optional(encodingAesKey),
});

/**
 * Each function's settings, by its key in common/definitions.ts `functions`: the one list of what a
 * function reads. The deploy derives every function's environment, links and secrets from it.
 */
export const configSchemas = {
  notify: notifySchema,
  admin: adminSchema,
  fanout: fanoutSchema,
  sender: senderSchema,
  callback: callbackSchema,
  tokenRefresher: tokenRefresherSchema,
  tokenPush: tokenPushSchema,
  taskScheduler: taskSchedulerSchema,
  followerSync: followerSyncSchema,
  webhook: webhookSchema,
  resumer: resumerSchema,
} as const;

/**
 * In AWS, secrets are linked `sst.Secret`s (read with `Resource.<Name>.value`), never environment
 * variables; locally they are environment variables. This puts the linked ones under their variable
 * names (common/definitions.ts `secrets`); an optional secret left at its placeholder stays unset.
 */
export function withLinkedSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const linked: Record<string, string> = {};
  const resource = Resource as unknown as Record<string, { value?: unknown } | undefined>;
  for (const [name, variable] of Object.entries(secrets)) {
    const value = name in resource ? resource[name]?.value : undefined;
    if (typeof value === "string" && value !== SECRET_UNSET) linked[variable] = value;
  }
  return { ...env, ...linked };
}

/** Reads and validates a function's settings once, failing fast with the names of the bad variables. */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv = withLinkedSecrets(process.env),
): z.output<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ");
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  return result.data;
}

/** PEM text as given (what a deployed stage sets), or read from the file a local run names. */
export function pemText(pemOrFile: string): string {
  return pemOrFile.trimStart().startsWith("-----BEGIN") ? pemOrFile : readFileSync(pemOrFile, "utf8");
}

/** The WeChat Pay public key PEM from WECHATPAY_PUBLIC_KEY or WECHATPAY_PUBLIC_KEY_FILE. */
export function wechatPayPublicKeyPem(config: z.output<typeof notifySchema>): string {
  if (config.WECHATPAY_PUBLIC_KEY) return config.WECHATPAY_PUBLIC_KEY;
  if (config.WECHATPAY_PUBLIC_KEY_FILE) return readFileSync(config.WECHATPAY_PUBLIC_KEY_FILE, "utf8");
  throw new ConfigError(
    "invalid configuration: WECHATPAY_PUBLIC_KEY or WECHATPAY_PUBLIC_KEY_FILE is required",
  );
}
