/**
 * Deploy-time settings that are not secrets, read from the environment of `sst deploy` (SST also loads
 * `.env` and `.env.<stage>`). Missing ones stop the deploy with their names, before anything changes.
 */
const required = [
  "WECHAT_APP_ID",
  "WECHAT_TEMPLATE_ID",
  "WECHATPAY_MCH_ID",
  "WECHATPAY_PUBLIC_KEY_ID",
  "ALARM_EMAIL",
] as const;
const optional = [
  "WECHAT_API_BASE",
  "WECHAT_TEMPLATE_FIELDS",
  "POST_URL",
  "WECHAT_MINIPROGRAM_APP_ID",
  "WECHAT_MINIPROGRAM_STATE",
] as const;

export type Settings = Record<(typeof required)[number], string> &
  Partial<Record<(typeof optional)[number], string>>;

export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const missing = required.filter((name) => !env[name]?.trim());
  if (missing.length > 0)
    throw new Error(`set ${missing.join(", ")} in the environment (or .env.<stage>) before deploying`);
  const settings: Record<string, string> = {};
  for (const name of [...required, ...optional]) {
    const value = env[name]?.trim();
    if (value) settings[name] = value;
  }
  return settings as Settings;
}
