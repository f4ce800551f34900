import type { z } from "zod";
import type { notifySchema } from "./config.ts";
import { blocklistCheck, manualCheck, noCheck } from "./core/blocklist.ts";
import type { ContentCheck } from "./core/ports.ts";

/**
 * The content check POST_REVIEW names: the built-in blocklist (POST_BLOCKED_WORDS and the lines of
 * POST_BLOCKED_WORDS_FILE together), every post, or none. A moderation service would be chosen here.
 */
export function contentCheckFrom(config: z.output<typeof notifySchema>): ContentCheck {
  switch (config.POST_REVIEW) {
    case "off":
      return noCheck;
    case "manual":
      return manualCheck;
    case "keywords":
      return blocklistCheck([
        ...(config.POST_BLOCKED_WORDS ?? []),
        ...(config.POST_BLOCKED_WORDS_FILE ?? []),
      ]);
  }
}
