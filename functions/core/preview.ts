/**
 * Previews: a task's or a post's message sent now to a few test openids, exactly as a recipient would
 * get it, outside any broadcast. Nothing is recorded or counted, the task stays a draft and the post
 * unpaid, and each preview has its own `client_msg_id`s, so WeChat never takes the real send to one
 * of these users for a repeat of the preview.
 */
import { TokenUnavailableError } from "./access-token.ts";
import { composePostMessage, type MessageSettings } from "./broadcast-message.ts";
import { clientMsgId } from "./chunk-run.ts";
import { classifyErrcode, TRANSPORT_ERRCODE } from "./errcodes.ts";
import { WeChatRefusedError } from "./errors.ts";
import {
  type AccessTokenProvider,
  type Clock,
  type ConsentReader,
  type PostStore,
  type SubscriptionCreditStore,
  type TaskMessenger,
  type TemplateLister,
  type TemplateListing,
  type WeChatMessenger,
  type WeChatResult,
  WeChatTransportError,
} from "./ports.ts";
import { loadPost } from "./post-review.ts";
import { NO_CREDIT, OPTED_OUT, type PushTask } from "./push-task.ts";
import { type TaskSendSettings, taskRequest } from "./task-request.ts";

/** How long a preview waits for an access token before it answers without one. */
const TOKEN_WAIT_MS = 3_000;
/** Subscribe message refused: the user has no one-time subscription left for the template. */
const NO_SUBSCRIPTION = 43101;

export interface PreviewResult {
  readonly openid: string;
  /** WeChat's errcode; null when Fanout itself did not send (errmsg says why). */
  readonly errcode: number | null;
  readonly errmsg: string;
}

export interface PreviewDeps {
  readonly tokens: AccessTokenProvider;
  readonly consent: ConsentReader;
  readonly wechat: WeChatMessenger & TaskMessenger & TemplateLister;
  readonly credits: Pick<SubscriptionCreditStore, "reserve" | "revoke">;
  readonly posts: Pick<PostStore, "get">;
  readonly clock: Clock;
  readonly postMessage: MessageSettings;
  readonly taskSettings: TaskSendSettings;
}

/** One recipient's send, with what must happen before it (a skip reason) and after a refusal. */
interface PreviewChannel {
  send(token: string, openid: string): Promise<WeChatResult>;
  before?(openid: string): Promise<string | undefined>;
  refused?(openid: string, result: WeChatResult): Promise<void>;
}

/** Sends the task's rendered message to the test openids; the task is not changed. */
export function previewTask(
  task: PushTask,
  openids: readonly string[],
  previewId: string,
  deps: PreviewDeps,
): Promise<PreviewResult[]> {
  const { message } = task;
  const id = previewBroadcastId(previewId);
  const channel: PreviewChannel = {
    send: (token, openid) =>
      deps.wechat.sendTaskMessage(
        token,
        taskRequest(message, openid, deps.taskSettings, clientMsgId(id, openid)),
      ),
  };
  if (message.channel === "subscribe") {
    // A subscribe message uses up one of the user's one-time subscriptions, at WeChat and here alike.
    channel.before = async (openid) =>
      (await deps.credits.reserve(openid, message.templateId, id, deps.clock.now())) === "none"
        ? NO_CREDIT
        : undefined;
    channel.refused = async (openid, result) => {
      if (result.errcode === NO_SUBSCRIPTION) await deps.credits.revoke(openid, message.templateId);
    };
  }
  return sendPreview(openids, channel, deps);
}

/** Sends a registered post's template message (as a paid post's broadcast renders it) to the test openids. */
export async function previewPost(
  outTradeNo: string,
  openids: readonly string[],
  previewId: string,
  deps: PreviewDeps,
): Promise<PreviewResult[]> {
  const post = await loadPost(outTradeNo, deps);
  const { template } = composePostMessage(post, post.paidAt ?? deps.clock.now(), deps.postMessage);
  const id = previewBroadcastId(previewId);
  return sendPreview(
    openids,
    { send: (token, openid) => deps.wechat.sendTemplate(token, openid, template, clientMsgId(id, openid)) },
    deps,
  );
}

/** Never a task's (`task-…`) or a post's (`post-…`) broadcast id. */
const previewBroadcastId = (previewId: string) => `preview-${previewId}`;

/** Each test openid once, in parallel: a user's own 0 is kept. */
async function sendPreview(
  openids: readonly string[],
  channel: PreviewChannel,
  deps: PreviewDeps,
): Promise<PreviewResult[]> {
  const optedOut = await deps.consent.optedOut(openids);
  return Promise.all(
    openids.map(async (openid): Promise<PreviewResult> => {
      if (optedOut.has(openid)) return { openid, errcode: null, errmsg: OPTED_OUT };
      const skip = await channel.before?.(openid);
      if (skip) return { openid, errcode: null, errmsg: skip };
      try {
        const { errcode, errmsg } = await callWithToken(deps, (token) => channel.send(token, openid));
        if (errcode !== 0) await channel.refused?.(openid, { errcode, errmsg });
        return { openid, errcode, errmsg };
      } catch (error) {
        if (error instanceof TokenUnavailableError)
          return { openid, errcode: null, errmsg: `not sent: ${error.message}` };
        if (error instanceof WeChatTransportError)
          return { openid, errcode: TRANSPORT_ERRCODE, errmsg: error.message };
        throw error;
      }
    }),
  );
}

/** The account's template-message templates, for the console's template field. */
export async function listTemplates(
  deps: Pick<PreviewDeps, "tokens" | "wechat" | "clock">,
): Promise<TemplateListing["templates"]> {
  let listing: TemplateListing;
  try {
    listing = await callWithToken(deps, (token) => deps.wechat.privateTemplates(token));
  } catch (error) {
    if (error instanceof TokenUnavailableError || error instanceof WeChatTransportError)
      throw new WeChatRefusedError(error.message, { cause: error });
    throw error;
  }
  if (listing.errcode !== 0)
    throw new WeChatRefusedError(
      `WeChat refused the template list: errcode ${listing.errcode} ${listing.errmsg}`,
    );
  return listing.templates;
}

/**
 * One WeChat call with the shared token. A token WeChat refuses is reported (so no other call uses
 * it) and the call made once more with a newer one. Throws TokenUnavailableError when no token came
 * in time, WeChatTransportError when WeChat did not answer.
 */
async function callWithToken<T extends { readonly errcode: number }>(
  deps: Pick<PreviewDeps, "tokens" | "clock">,
  call: (token: string) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const token = await deps.tokens.get(deps.clock.now() + TOKEN_WAIT_MS);
    const result = await call(token);
    if (classifyErrcode(result.errcode) !== "token") return result;
    await deps.tokens.reject(token);
    if (attempt === 2) return result;
  }
}
