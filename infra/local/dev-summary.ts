/**
 * What `npm run dev` prints once the stack is up: everything a developer needs to poke it (the
 * console, the tokens, the simulator's template ids, the callback, the emulators for the AWS CLI),
 * grouped. Values the stack generated are local demo values and are shown; a value the developer
 * gave in the environment may be a real secret and is never shown.
 */

export interface DevSummaryInput {
  readonly baseUrl: string;
  /** The settings the functions run with. */
  readonly env: Readonly<Record<string, string>>;
  /** Endpoints, dummy credentials, region, TABLE_* and QUEUE_URL_* of the emulators. */
  readonly awsEnv: Readonly<Record<string, string>>;
  /** The developer's environment: what is set there was not generated. */
  readonly given: Readonly<Record<string, string | undefined>>;
  /** The built-in simulator's accepted template ids; undefined when WECHAT_API_BASE was given. */
  readonly simulator?: { readonly official: readonly string[]; readonly subscribe: readonly string[] };
  /** demo-merchant.json, when the stack generated the demo merchant. */
  readonly merchantFile?: string;
}

export const FROM_ENVIRONMENT = "(from your environment)";

/** The lines, in groups; the caller prints `ready <url>` after them. */
export function devSummary(input: DevSummaryInput): string[] {
  const { baseUrl, env, awsEnv, given } = input;
  const secret = (name: string, note = "") =>
    given[name] ? `${FROM_ENVIRONMENT.slice(0, -1)}${note})` : `${env[name] ?? ""}  (generated${note})`;
  const setting = (name: string) => `${env[name] ?? ""}${given[name] ? `  ${FROM_ENVIRONMENT}` : ""}`;
  type Rows = readonly (readonly [string, string])[];
  const group = (title: string, rows: Rows) => [title, rows] as const;
  const external = env.WECHAT_TOKEN_SOURCE === "external";
  const sim = input.simulator;

  const groups = [
    group("Console and API", [
      ["admin console", `${baseUrl}/admin  (sign in with ADMIN_TOKEN)`],
      ["ADMIN_TOKEN", secret("ADMIN_TOKEN")],
      ["APP_TOKEN", secret("APP_TOKEN", "; the business app's: posts, imports, credits")],
      ...(external
        ? ([
            ["token push", `PUT ${baseUrl}/api/access-token  (the central token server, on every refresh)`],
            ["WECHAT_TOKEN_PUSH_SECRET", secret("WECHAT_TOKEN_PUSH_SECRET")],
          ] as const)
        : []),
    ]),
    group("WeChat Pay", [
      ["notify URL", `POST ${baseUrl}/wechatpay/notify`],
      ...(input.merchantFile
        ? ([
            ["merchant", `demo merchant ${env.WECHATPAY_MCH_ID}, keys in ${input.merchantFile}`],
            ["pay a post", "npm run pay -- <outTradeNo>  (or 模拟支付 in the console)"],
          ] as const)
        : ([["merchant", `${env.WECHATPAY_MCH_ID}  ${FROM_ENVIRONMENT}`]] as const)),
    ]),
    group(sim ? "WeChat (built-in simulator)" : "WeChat", [
      [
        "WECHAT_API_BASE",
        sim ? `${env.WECHAT_API_BASE}  (controls under /__sim/)` : setting("WECHAT_API_BASE"),
      ],
      ["WECHAT_APP_ID", setting("WECHAT_APP_ID")],
      ...(sim
        ? ([
            ["WECHAT_APP_SECRET", secret("WECHAT_APP_SECRET")],
            ["template ids", `${sim.official.join(", ")}  (公众号模板消息; add: SIM_TEMPLATE_IDS=a,b)`],
            [
              "subscribe template ids",
              `${sim.subscribe.join(", ")}  (小程序订阅消息; add: SIM_SUBSCRIBE_TEMPLATE_IDS=a,b)`,
            ],
            ["list them", `GET ${env.WECHAT_API_BASE}/__sim/templates`],
          ] as const)
        : ([["WECHAT_TEMPLATE_ID", setting("WECHAT_TEMPLATE_ID")]] as const)),
      ["callback URL", `${baseUrl}/wechat/callback  (the OA's 服务器地址(URL))`],
      ["WECHAT_CALLBACK_TOKEN", secret("WECHAT_CALLBACK_TOKEN")],
    ]),
    group("AWS (local emulators; dummy credentials, for the AWS CLI or an SDK)", [
      ["credentials", exports(awsEnv, ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])],
      ["endpoints", exports(awsEnv, ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS"])],
      ...named(awsEnv, "TABLE_"),
      ...named(awsEnv, "QUEUE_URL_"),
      [
        "try",
        `aws sqs get-queue-attributes --attribute-names All --queue-url ${awsEnv.QUEUE_URL_SEND ?? "…"}`,
      ],
    ]),
  ];
  // One column for the names of every group, so the values line up down the whole summary.
  const width = Math.max(...groups.flatMap(([, rows]) => rows.map(([k]) => k.length)));
  return groups.flatMap(([title, rows]) => [
    "",
    title,
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
  ]);
}

function exports(env: Readonly<Record<string, string>>, names: readonly string[]): string {
  return `export ${names.map((n) => `${n}=${env[n] ?? ""}`).join(" ")}`;
}

function named(env: Readonly<Record<string, string>>, prefix: string): [string, string][] {
  return Object.keys(env)
    .filter((k) => k.startsWith(prefix))
    .sort()
    .map((k) => [k, env[k] as string]);
}
