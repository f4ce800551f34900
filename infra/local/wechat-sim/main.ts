/**
 * Standalone WeChat API simulator (`npm run sim`). Configured from the environment:
 * PORT (default 8900, 0 = free port), WECHAT_APP_ID, WECHAT_APP_SECRET, WECHAT_TEMPLATE_ID and
 * WECHAT_SUBSCRIBE_TEMPLATE_ID (comma-separated), WECHAT_SIM_STRICT_USERS=1 to reject unknown openids.
 */
import { WeChatSimulator } from "./simulator.ts";

function list(value: string | undefined, fallback: string[]): string[] {
  const items = (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return items.length > 0 ? items : fallback;
}

const port = Number(process.env.PORT ?? "8900");
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`wechat-sim: PORT must be an integer in 0..65535, got "${process.env.PORT}"`);
  process.exit(2);
}

const sim = new WeChatSimulator({
  appId: process.env.WECHAT_APP_ID || "wx_sim_app_id",
  appSecret: process.env.WECHAT_APP_SECRET || "wx_sim_app_secret",
  templateIds: list(process.env.WECHAT_TEMPLATE_ID, ["sim_template_id"]),
  subscribeTemplateIds: list(process.env.WECHAT_SUBSCRIBE_TEMPLATE_ID, ["sim_subscribe_template_id"]),
  strictUsers: process.env.WECHAT_SIM_STRICT_USERS === "1",
});

const url = await sim.start(port);
const { official, subscribe } = sim.templateIds();
console.log(`template ids: ${official.join(", ")}; subscribe template ids: ${subscribe.join(", ")}`);
console.log(`wechat-sim ready ${url}`);

const shutdown = (): void => {
  sim.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
