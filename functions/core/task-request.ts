import type { TaskChannel, TaskMessage } from "./model.ts";

/** How task messages reach WeChat, from configuration. */
export interface TaskSendSettings {
  /** The mini program linked to the OA: template messages then open `page` in it. */
  readonly miniProgramAppId?: string;
  /** Subscribe messages open this version of the mini program. */
  readonly miniProgramState: "developer" | "trial" | "formal";
}

export interface TaskRequest {
  readonly api: TaskChannel;
  readonly body: Readonly<Record<string, unknown>>;
}

/**
 * The WeChat request for one recipient: a template message (with `client_msg_id`, so a retry within
 * WeChat's 10-minute window is not delivered twice, and the page as `miniprogram.pagepath` when a
 * mini program is configured), or a subscribe message (`page`, `miniprogram_state`).
 */
export function taskRequest(
  message: TaskMessage,
  openid: string,
  settings: TaskSendSettings,
  clientMsgId: string,
): TaskRequest {
  const addressed = { touser: openid, template_id: message.templateId };
  if (message.channel === "subscribe") {
    return {
      api: "subscribe",
      body: {
        ...addressed,
        ...(message.page ? { page: message.page } : {}),
        miniprogram_state: settings.miniProgramState,
        lang: "zh_CN",
        data: message.data,
      },
    };
  }
  const miniprogram =
    settings.miniProgramAppId && message.page
      ? { miniprogram: { appid: settings.miniProgramAppId, pagepath: message.page } }
      : {};
  return {
    api: "template",
    body: {
      ...addressed,
      ...(message.url ? { url: message.url } : {}),
      ...miniprogram,
      client_msg_id: clientMsgId,
      data: message.data,
    },
  };
}
