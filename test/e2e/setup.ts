/** Setup several end-to-end files share: openids to name one by one, WeChat's callback to the app. */
import type { CallbackTarget } from "../../infra/local/wechat-sim/push.ts";
import { openids, type TestApp } from "./harness.ts";

type Openids<N extends number, T extends string[] = []> = T["length"] extends N
  ? T
  : Openids<N, [...T, string]>;

/** `count` distinct openids as a tuple, so a test can name each one when it destructures them. */
export function namedOpenids<N extends number>(prefix: string, count: N): Openids<N> {
  return openids(prefix, count) as Openids<N>;
}

/** The callback the simulated WeChat pushes to: the app's, with its Token, as an operator configures it. */
export function appCallback(t: TestApp): CallbackTarget {
  const token = t.app.env.WECHAT_CALLBACK_TOKEN;
  if (!token) throw new Error("local-app generates WECHAT_CALLBACK_TOKEN");
  return { url: `${t.app.baseUrl}/wechat/callback`, token, appId: t.app.env.WECHAT_APP_ID ?? "" };
}
