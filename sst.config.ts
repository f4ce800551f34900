/// <reference path="./.sst/platform/config.d.ts" />

/**
 * The SST app. Thin on purpose: infra/ builds every resource from infra/definitions.ts, the same data
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
    const { createFunctions, subscribeConsumers } = await import("./infra/functions.ts");
    const { createAlarms } = await import("./infra/alarms.ts");
    const { createDashboard } = await import("./infra/dashboard.ts");

    const settings = readSettings();
    const secrets = createSecrets();
    const tables = createTables();
    const queues = createQueues();
    const functions = createFunctions({ tables, queues, secrets, settings });
    subscribeConsumers(queues, functions);
    const { topic } = createAlarms({ queues, functions, alarmEmail: settings.ALARM_EMAIL });
    createDashboard({ queues, functions });

    return {
      notifyUrl: $interpolate`${functions.notify.url}wechatpay/notify`,
      adminApiUrl: $interpolate`${functions.admin.url}api/`,
      adminConsoleUrl: $interpolate`${functions.admin.url}admin`,
      callbackUrl: $interpolate`${functions.callback.url}wechat/callback`,
      fanoutQueueUrl: queues.fanout.queue.url,
      fanoutDeadLetterQueueUrl: queues.fanout.deadLetter.url,
      sendQueueUrl: queues.send.queue.url,
      sendDeadLetterQueueUrl: queues.send.deadLetter.url,
      alarmTopic: topic.arn,
    };
  },
});
