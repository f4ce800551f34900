/**
 * Deploy-time settings, read from the environment of `sst deploy` (SST also loads `.env` and
 * `.env.<stage>`). The settings a function takes come from its own config schema
 * (functions/config.ts `configSchemas`): every variable a function reads can be set for a stage, and
 * each value is checked by the same rule the function applies at start-up, so a bad or missing one
 * stops the deploy, with its name, before anything changes.
 */
import { z } from "zod";
import {
  type FunctionKey,
  functions as functionDefs,
  queues,
  secrets,
  tables,
} from "../common/definitions.ts";
import { queueUrlEnvName, tableEnvName } from "../common/env-names.ts";
import { configSchemas, DEFAULT_WEBHOOK_TIMEOUT_MS, DEFAULT_WECHAT_TIMEOUT_MS } from "../functions/config.ts";
import { lastCallStart } from "../functions/core/send-chunk.ts";

/** Settings only the deploy reads: where alarms go, and how WeChat calls leave AWS. */
const deploySchema = z.object({
  ALARM_EMAIL: z.email("must be an e-mail address"),
  WECHAT_TOKEN_SOURCE: z.enum(["refresher", "external"]).default("refresher"),
  /**
   * `ec2` (fck-nat on t4g.nano, the default) or `managed` (NAT gateways): the WeChat callers run in
   * a VPC and leave through NAT with Elastic IPs. `proxy`: no VPC; WECHAT_API_BASE points at the
   * operator's own whitelisted reverse proxy.
   */
  WECHAT_EGRESS: z.enum(["ec2", "managed", "proxy"]).default("ec2"),
  /** Availability zones, one NAT and one Elastic IP each. */
  WECHAT_EGRESS_AZS: z.coerce.number().int().min(1).max(3).default(2),
  /** Existing Elastic IP allocations (`eipalloc-…`, one per zone), so the whitelist outlives the stage. */
  WECHAT_EGRESS_EIPS: z
    .string()
    .optional()
    .transform((list) =>
      list
        ? list
            .split(",")
            .map((id) => id.trim())
            .filter(Boolean)
        : [],
    )
    .pipe(z.array(z.string().regex(/^eipalloc-[0-9a-f]+$/, "must be eipalloc-… allocation ids"))),
});

export type DeploySettings = z.output<typeof deploySchema>;

/** The least time each sender invocation has to start WeChat calls. */
const MIN_SENDING_MS = 5_000;
/** Time a webhook run keeps after its last try: recording a failed try's backoff. */
const WEBHOOK_MARGIN_MS = 5_000;
/** Half of the 4 KB all of a function's environment variables may take together. */
const MAX_BLOCKLIST_BYTES = 2_048;

export interface Settings {
  readonly deploy: DeploySettings;
  /** The functions this stage deploys (the token push only in external mode). */
  readonly functions: readonly FunctionKey[];
  /** Each function's settings that are not resources or secrets, as given (validated) for the stage. */
  readonly environment: Readonly<Record<FunctionKey, Readonly<Record<string, string>>>>;
}

/** Environment variables the deploy fills itself: resource names, and secrets through links. */
const provided = new Set<string>([
  ...Object.keys(tables).map(tableEnvName),
  ...Object.keys(queues).map((key) => queueUrlEnvName(key)),
  ...Object.values(secrets),
]);

/** The settings a function reads that the operator gives: its schema's keys, minus what the deploy fills. */
export function settingNames(key: FunctionKey): string[] {
  return Object.keys(configSchemas[key].shape).filter((name) => !provided.has(name));
}

/** Every variable some function reads, resource names aside: what the local stack takes from its environment. */
export function functionVariables(): string[] {
  const resources = new Set<string>([
    ...Object.keys(tables).map(tableEnvName),
    ...Object.keys(queues).map((key) => queueUrlEnvName(key)),
  ]);
  const names = Object.values(configSchemas).flatMap((schema) => Object.keys(schema.shape));
  return [...new Set(names)].filter((name) => !resources.has(name));
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const problems: string[] = [];
  const parsed = deploySchema.safeParse(trimmed(env));
  if (!parsed.success)
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join(".")} ${issue.message}`);
  const deploy = parsed.success ? parsed.data : undefined;
  if (deploy?.WECHAT_EGRESS === "proxy" && !env.WECHAT_API_BASE?.trim())
    problems.push("WECHAT_API_BASE is required with WECHAT_EGRESS=proxy (your whitelisted reverse proxy)");
  if (
    deploy &&
    deploy.WECHAT_EGRESS_EIPS.length > 0 &&
    deploy.WECHAT_EGRESS_EIPS.length !== deploy.WECHAT_EGRESS_AZS
  )
    problems.push(
      `WECHAT_EGRESS_EIPS names ${deploy.WECHAT_EGRESS_EIPS.length} allocation(s) but WECHAT_EGRESS_AZS is ${deploy.WECHAT_EGRESS_AZS}: give one per zone`,
    );

  // The sender stops starting calls a call's timeout (and a margin) before its own: leave it time.
  const callTimeoutMs = Number(env.WECHAT_TIMEOUT_MS?.trim() || DEFAULT_WECHAT_TIMEOUT_MS);
  const sendingMs = lastCallStart(functionDefs.sender.timeoutSeconds * 1000, callTimeoutMs);
  if (sendingMs < MIN_SENDING_MS)
    problems.push(
      `WECHAT_TIMEOUT_MS ${callTimeoutMs} leaves the sender (timeout ${functionDefs.sender.timeoutSeconds} s) only ${sendingMs} ms to start calls: set at most ${lastCallStart(functionDefs.sender.timeoutSeconds * 1000, 0) - MIN_SENDING_MS}`,
    );
  // One webhook try must end inside its function's run, or the try's outcome is lost with it.
  const webhookTryMs = Number(env.BROADCAST_WEBHOOK_TIMEOUT_MS?.trim() || DEFAULT_WEBHOOK_TIMEOUT_MS);
  const webhookRunMs = functionDefs.webhook.timeoutSeconds * 1000;
  if (webhookTryMs > webhookRunMs - WEBHOOK_MARGIN_MS)
    problems.push(
      `BROADCAST_WEBHOOK_TIMEOUT_MS ${webhookTryMs} does not fit the webhook function's ${functionDefs.webhook.timeoutSeconds} s: set at most ${webhookRunMs - WEBHOOK_MARGIN_MS}`,
    );
  // A file on the deploying machine is not in the function's bundle; Lambda's environment holds 4 KB.
  if (env.POST_BLOCKED_WORDS_FILE?.trim())
    problems.push(
      "POST_BLOCKED_WORDS_FILE is for local runs only: give the list itself in POST_BLOCKED_WORDS",
    );
  if (Buffer.byteLength(env.POST_BLOCKED_WORDS?.trim() ?? "") > MAX_BLOCKLIST_BYTES)
    problems.push(
      `POST_BLOCKED_WORDS is over ${MAX_BLOCKLIST_BYTES} bytes, too much of Lambda's 4 KB of environment: plug a moderation service into the ContentCheck port instead`,
    );
  const functions = (Object.keys(configSchemas) as FunctionKey[]).filter(
    (key) => key !== "tokenPush" || deploy?.WECHAT_TOKEN_SOURCE === "external",
  );
  const environment = {} as Record<FunctionKey, Record<string, string>>;
  for (const key of Object.keys(configSchemas) as FunctionKey[]) {
    const shape = configSchemas[key].shape as Record<string, z.ZodType>;
    const values: Record<string, string> = {};
    for (const name of settingNames(key)) {
      const value = env[name]?.trim();
      const check = (shape[name] as z.ZodType).safeParse(value || undefined);
      if (!check.success && functions.includes(key))
        problems.push(`${name} ${value ? check.error.issues[0]?.message : "is required"}`);
      if (value) values[name] = value;
    }
    environment[key] = values;
  }
  if (problems.length > 0 || !deploy)
    throw new Error(
      `fix these in the environment (or .env.<stage>) before deploying: ${[...new Set(problems)].join("; ")}`,
    );
  return { deploy, functions, environment };
}

function trimmed(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v?.trim() || undefined]));
}
