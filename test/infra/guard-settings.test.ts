/** The daily cap's setting: deployable for the sender only, checked by the sender's own rule. */
import { describe, expect, it } from "vitest";
import { loadConfig, senderSchema } from "../../functions/config.ts";
import { readSettings, settingNames } from "../../infra/settings.ts";
import { requiredSettings as given } from "./required-settings.ts";

describe("MAX_POSTS_PER_SUBSCRIBER_PER_DAY", () => {
  it("is a sender setting a stage can set, and no other function's", () => {
    expect(settingNames("sender")).toContain("MAX_POSTS_PER_SUBSCRIBER_PER_DAY");
    expect(settingNames("fanout")).not.toContain("MAX_POSTS_PER_SUBSCRIBER_PER_DAY");
    const settings = readSettings({ ...given, MAX_POSTS_PER_SUBSCRIBER_PER_DAY: "3" });
    expect(settings.environment.sender).toMatchObject({ MAX_POSTS_PER_SUBSCRIBER_PER_DAY: "3" });
    expect(settings.environment.admin).not.toHaveProperty("MAX_POSTS_PER_SUBSCRIBER_PER_DAY");
    expect(readSettings(given).environment.sender).not.toHaveProperty("MAX_POSTS_PER_SUBSCRIBER_PER_DAY");
  });

  it("stops the deploy, and the sender's start, naming it when it is not a cap", () => {
    for (const bad of ["0", "two", "2.5", "11"]) {
      expect(() => readSettings({ ...given, MAX_POSTS_PER_SUBSCRIBER_PER_DAY: bad }), bad).toThrow(
        /MAX_POSTS_PER_SUBSCRIBER_PER_DAY/,
      );
      expect(() => loadConfig(senderSchema, { MAX_POSTS_PER_SUBSCRIBER_PER_DAY: bad }), bad).toThrow(
        /MAX_POSTS_PER_SUBSCRIBER_PER_DAY/,
      );
    }
  });
});
