import { describe, expect, it } from "vitest";
import { catalogs } from "../../functions/console/src/i18n.ts";
import { hasBroadcast, reviewReasonText } from "../../functions/console/src/review-logic.ts";
import { isRunningPost } from "../../functions/console/src/task-logic.ts";
import type { PostView } from "../../functions/contracts/api.ts";

const zh = catalogs["zh-CN"];
const en = catalogs.en;
const post = (fields: Partial<PostView>) => ({ payment: "PAID", status: "held", ...fields }) as PostView;

describe("the review queue (待审核)", () => {
  it("says why a post was held in the operator's language", () => {
    expect(reviewReasonText('blocked word "加微信"', zh)).toBe("命中屏蔽词「加微信」");
    expect(reviewReasonText("blocked pattern /v\\d+/i", zh)).toBe("命中屏蔽规则 /v\\d+/i");
    expect(reviewReasonText("manual review", zh)).toBe("人工审核：所有付费信息发送前都需审核");
    expect(reviewReasonText('blocked word "加微信"', en)).toBe("matched the blocked word “加微信”");
    // A moderation service's own reason is shown as it came.
    expect(reviewReasonText("TMS: Ad (score 97)", zh)).toBe("TMS: Ad (score 97)");
  });

  it("names held and rejected in both catalogs", () => {
    expect([zh.status.held, zh.status.rejected]).toEqual(["待审核", "已驳回"]);
    expect([en.status.held, en.status.rejected]).toEqual(["held for review", "rejected"]);
    expect(zh.reviewTitle).toBe("待审核");
  });

  it("shows no progress bar and does not poll a held or rejected post; an approved one is a broadcast", () => {
    for (const status of ["held", "rejected"] as const) {
      expect(hasBroadcast(post({ status })), status).toBe(false);
      expect(isRunningPost(post({ status })), status).toBe(false);
    }
    expect(hasBroadcast(post({ status: "sending" }))).toBe(true);
    expect(isRunningPost(post({ status: "sending" }))).toBe(true);
  });
});
