import { ConfigError, loadConfig, notifySchema, webhookSchema } from "../../functions/config.ts";

const reviewSettings = notifySchema.pick({
  POST_REVIEW: true,
  POST_BLOCKED_WORDS: true,
  POST_BLOCKED_WORDS_FILE: true,
  BROADCAST_WEBHOOK_URL: true,
});

/**
 * What is wrong with the local run's review and webhook settings, checked by the functions' own
 * rules before anything starts (the functions themselves read them only when first invoked).
 */
export function reviewSettingsProblem(env: Readonly<Record<string, string>>): string | undefined {
  try {
    loadConfig(reviewSettings, env);
    loadConfig(webhookSchema, { QUEUE_URL_WEBHOOK: "local", ...env });
    return undefined;
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
}
