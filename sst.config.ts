/// <reference path="./.sst/platform/config.d.ts" />

/**
 * The SST app. A minimal app for now: the infrastructure issue adds infra/storage.ts, queues.ts,
 * functions.ts, alarms.ts and dashboard.ts, built from infra/definitions.ts like the local stack.
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
    return {};
  },
});
