/// <reference path="./.sst/platform/config.d.ts" />

/**
 * The SST app. Thin on purpose: infra/ builds every resource from common/definitions.ts, the same data
 * the local stack (infra/local/) uses.
 */
export default $config({
  app(input) {
    return {
      name: "wechat-fanout",
      home: "aws",
      // Production data (posts, consent) survives `sst remove`; other stages clean up after themselves.
      removal: input?.stage === "prod" ? "retain" : "remove",
      protect: input?.stage === "prod",
    };
  },
  async run() {
    const { readSettings } = await import("./infra/settings.ts");
    const { createSecrets } = await import("./infra/secrets.ts");
    const { createTables } = await import("./infra/storage.ts");
    const { createQueues } = await import("./infra/queues.ts");
    const { createEgress } = await import("./infra/network.ts");
    const { createFunctions, required, subscribeConsumers } = await import("./infra/functions.ts");
    const { createSchedules } = await import("./infra/schedules.ts");
    const { createAlarms } = await import("./infra/alarms.ts");
    const { createDashboard } = await import("./infra/dashboard.ts");

    const settings = readSettings();
    const external = settings.deploy.WECHAT_TOKEN_SOURCE === "external";
    const secrets = createSecrets(settings);
    const tables = createTables();
    const queues = createQueues();
    const egress = createEgress(settings.deploy);
    const functions = createFunctions({ tables, queues, secrets, settings, egress });
    subscribeConsumers(queues, functions);
    createSchedules(functions);
    const { topic } = createAlarms({
      queues,
      functions,
      alarmEmail: settings.deploy.ALARM_EMAIL,
      externalToken: external,
    });
    createDashboard({ queues, functions });

    const url = (key: Parameters<typeof required>[1]) => required(functions, key).url;
    return {
      notifyUrl: $interpolate`${url("notify")}wechatpay/notify`,
      adminApiUrl: $interpolate`${url("admin")}api/`,
      adminConsoleUrl: $interpolate`${url("admin")}admin`,
      callbackUrl: $interpolate`${url("callback")}wechat/callback`,
      // Enter these in the Official Account's IP whitelist (设置与开发 → 基本配置 → IP白名单).
      wechatEgressIps: egress ? egress.ips : "none: WECHAT_EGRESS=proxy, whitelist your proxy's address",
      ...(external ? { accessTokenPushUrl: $interpolate`${url("tokenPush")}api/access-token` } : {}),
      fanoutQueueUrl: queues.fanout.queue.url,
      fanoutDeadLetterQueueUrl: queues.fanout.deadLetter.url,
      sendQueueUrl: queues.send.queue.url,
      sendDeadLetterQueueUrl: queues.send.deadLetter.url,
      syncQueueUrl: queues.sync.queue.url,
      syncDeadLetterQueueUrl: queues.sync.deadLetter.url,
      alarmTopic: topic.arn,
    };
  },
});
