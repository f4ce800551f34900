/**
 * The rules one delivery of a chunk applies to each recipient before any WeChat call: a recipient the
 * fan-out found suppressed is skipped with the reason (core/suppression.ts), and a paid post's
 * recipient is held to the daily cap (core/daily-cap.ts).
 */
import type { SuppressionReason } from "../contracts/messages.ts";
import { DailyCapGate, type DailyCapSettings } from "./daily-cap.ts";
import type { Broadcast, ChunkMessage } from "./model.ts";
import type { SubscriberStatusStore } from "./ports.ts";
import { suppressedSkip } from "./suppression.ts";

export interface RecipientRulesDeps {
  readonly subscribers: Pick<SubscriberStatusStore, "consumeWindow">;
  /** Set when MAX_POSTS_PER_SUBSCRIBER_PER_DAY is: paid posts are capped. */
  readonly dailyCap?: DailyCapSettings;
}

export class RecipientRules {
  /** The daily cap of a paid post's recipients; none for push tasks, or without a cap. */
  readonly cap: DailyCapGate | undefined;
  private readonly suppressed: ReadonlyMap<string, SuppressionReason>;

  constructor(broadcast: Broadcast, chunk: ChunkMessage, todo: readonly string[], deps: RecipientRulesDeps) {
    const suppressed = new Map(Object.entries(chunk.suppressed ?? {}));
    this.suppressed = suppressed;
    this.cap =
      deps.dailyCap && broadcast.message && !broadcast.task
        ? new DailyCapGate(
            deps.dailyCap,
            deps.subscribers,
            broadcast.broadcastId,
            todo.filter((openid) => !suppressed.has(openid)),
          )
        : undefined;
  }

  /** Why the recipient is skipped without a WeChat call, if they are. */
  skipReason(openid: string): string | undefined {
    const reason = this.suppressed.get(openid);
    return reason ? suppressedSkip(reason) : undefined;
  }
}
