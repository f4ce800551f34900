/**
 * What a WeChat push (a user's message or an event, already verified and parsed) means for Fanout:
 * the state changes and the passive reply. Pure: no AWS, HTTP or XML.
 */
import { reportSuppression, type SuppressionReason } from "./suppression.ts";

/** A verified push: the `<xml>` fields of WECHAT_FACTS §5.2 / §3.1, all strings. */
export interface InboundMessage {
  readonly ToUserName: string;
  readonly FromUserName: string;
  readonly CreateTime: string;
  readonly MsgType: string;
  readonly Content?: string;
  readonly MsgId?: string;
  readonly Event?: string;
  readonly EventKey?: string;
  /** TEMPLATESENDJOBFINISH spells it `MsgID`. */
  readonly MsgID?: string;
  readonly Status?: string;
}

/** A customer-service window: `remaining` messages until `until` (epoch ms). */
export interface ServiceWindow {
  readonly until: number;
  readonly remaining: number;
}

export type CallbackAction =
  /**
   * A user message: records the interaction, opens the 5-message/48-h window, maybe sets optedIn,
   * and lifts a suppression (they talk to the account: WeChat's earlier refusal no longer stands).
   */
  | {
      readonly kind: "interaction";
      readonly openid: string;
      readonly at: number;
      readonly window: ServiceWindow;
      readonly optedIn?: boolean;
    }
  /** Follow: creates or re-activates the subscriber, lifts a suppression, opens the 3-message/1-min window. */
  | { readonly kind: "follow"; readonly openid: string; readonly at: number; readonly window: ServiceWindow }
  /** SCAN or menu CLICK by an existing subscriber: opens the 3-message/1-min window. */
  | {
      readonly kind: "eventWindow";
      readonly openid: string;
      readonly at: number;
      readonly window: ServiceWindow;
    }
  | { readonly kind: "unfollow"; readonly openid: string; readonly at: number }
  /**
   * A `failed:user block` report: the user refuses the account's messages; suppressed as of `at`
   * (when WeChat reported it), unless they wrote to or followed the account since.
   */
  | {
      readonly kind: "suppress";
      readonly openid: string;
      readonly reason: SuppressionReason;
      readonly at: number;
    };

/** TEMPLATESENDJOBFINISH: WeChat's delivery report for the template message `msgid`. */
export interface DeliveryReport {
  readonly msgid: number;
  readonly status: string;
  readonly openid: string;
  readonly at: number;
}

export interface CallbackPlan {
  /** The inbox key that makes WeChat's retries of this push no-ops. */
  readonly dedupKey: string;
  readonly actions: readonly CallbackAction[];
  /**
   * A delivery report is kept as the inbox entry itself, keyed by msgid: one small write, no lookup
   * of the record it names. Readers join it to the record by msgid; a tally counts it (tally-reports.ts).
   */
  readonly report?: DeliveryReport;
  /** Passive text reply to the user, if any; otherwise the answer is `success`. */
  readonly reply?: string;
}

export const MESSAGE_WINDOW: ServiceWindow = { until: 48 * 3600 * 1000, remaining: 5 };
export const EVENT_WINDOW: ServiceWindow = { until: 60 * 1000, remaining: 3 };

export const OPT_OUT_REPLY = "已退订，您将不再收到供需信息推送。回复1可重新接收信息";
export const OPT_IN_REPLY = "已恢复接收，您将继续收到供需信息推送。回复0可退订";

/** `0` / `1`, trimmed, full-width digits (０ １) accepted; anything else is null. */
export function optCommand(content: string | undefined): boolean | null {
  const text = (content ?? "")
    .trim()
    .replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0));
  if (text === "0") return false;
  if (text === "1") return true;
  return null;
}

/** Delivery-report outcome: `success` confirms, any `failed:…` (e.g. `failed: system failed`) rejects. */
export function reportOutcome(status: string): "confirmed" | "rejected" | null {
  const s = status.trim();
  if (s === "success") return "confirmed";
  if (s.startsWith("failed:")) return "rejected";
  return null;
}

function windowFrom(now: number, w: ServiceWindow): ServiceWindow {
  return { until: now + w.until, remaining: w.remaining };
}

/**
 * Dedup key per WECHAT_FACTS §5.3: MsgId for messages, FromUserName + CreateTime (+ Event …) for
 * events; a delivery report by the msgid it reports on, so one report per message is kept.
 */
export function dedupKeyOf(msg: InboundMessage): string {
  if (msg.MsgType !== "event" && msg.MsgId) return `msg#${msg.MsgId}`;
  const msgid = msg.Event === "TEMPLATESENDJOBFINISH" ? reportMsgid(msg) : null;
  if (msgid !== null) return reportKey(msgid);
  return ["evt", msg.FromUserName, msg.CreateTime, msg.Event ?? "", msg.EventKey ?? ""].join("#");
}

/** The inbox key a delivery report for `msgid` is kept under. */
export function reportKey(msgid: number): string {
  return `report#${msgid}`;
}

function reportMsgid(msg: InboundMessage): number | null {
  const msgid = Number(msg.MsgID);
  return /^\d{1,19}$/.test(msg.MsgID ?? "") && Number.isSafeInteger(msgid) ? msgid : null;
}

/** The state changes and reply for one push, at `now` (epoch ms). */
export function planCallback(msg: InboundMessage, now: number): CallbackPlan {
  const dedupKey = dedupKeyOf(msg);
  const openid = msg.FromUserName;
  if (msg.MsgType !== "event") {
    const opt = msg.MsgType === "text" ? optCommand(msg.Content) : null;
    const action: CallbackAction = {
      kind: "interaction",
      openid,
      at: now,
      window: windowFrom(now, MESSAGE_WINDOW),
      ...(opt === null ? {} : { optedIn: opt }),
    };
    return {
      dedupKey,
      actions: [action],
      ...(opt === null ? {} : { reply: opt ? OPT_IN_REPLY : OPT_OUT_REPLY }),
    };
  }
  switch (msg.Event ?? "") {
    case "subscribe":
      return {
        dedupKey,
        actions: [{ kind: "follow", openid, at: now, window: windowFrom(now, EVENT_WINDOW) }],
      };
    case "unsubscribe":
      return { dedupKey, actions: [{ kind: "unfollow", openid, at: now }] };
    case "SCAN":
    case "CLICK":
      return {
        dedupKey,
        actions: [{ kind: "eventWindow", openid, at: now, window: windowFrom(now, EVENT_WINDOW) }],
      };
    case "TEMPLATESENDJOBFINISH": {
      const msgid = reportMsgid(msg);
      if (msgid === null || !msg.Status) return { dedupKey, actions: [] };
      const reason = reportSuppression(msg.Status);
      // WeChat's own time of the report: a message the user sent after it keeps them unsuppressed.
      const at = Math.min(Number(msg.CreateTime) * 1000, now);
      return {
        dedupKey,
        actions: reason ? [{ kind: "suppress", openid, reason, at }] : [],
        report: { msgid, status: msg.Status, openid, at: now },
      };
    }
    default:
      return { dedupKey, actions: [] };
  }
}

/** The port the callback's state lives behind (DynamoDB: functions/adapters/dynamodb/callback-store.ts). */
export interface CallbackStore {
  /** Records the push as handled, with its delivery report if any; false when it was handled already. */
  claim(dedupKey: string, now: number, report?: DeliveryReport): Promise<boolean>;
  /** Forgets a claim whose actions failed, so WeChat's retry can do them. */
  release(dedupKey: string): Promise<void>;
  /** Applies one action idempotently. */
  apply(action: CallbackAction): Promise<void>;
}

export interface CallbackOutcome {
  readonly duplicate: boolean;
  readonly plan: CallbackPlan;
}

/** Plans, deduplicates and applies one push; a duplicate changes nothing and gets no reply. */
export async function handleCallback(
  msg: InboundMessage,
  deps: { readonly store: CallbackStore; readonly now: number },
): Promise<CallbackOutcome> {
  const plan = planCallback(msg, deps.now);
  if (!(await deps.store.claim(plan.dedupKey, deps.now, plan.report))) return { duplicate: true, plan };
  try {
    for (const action of plan.actions) await deps.store.apply(action);
  } catch (error) {
    await deps.store.release(plan.dedupKey).catch(() => undefined);
    throw error;
  }
  return { duplicate: false, plan };
}
