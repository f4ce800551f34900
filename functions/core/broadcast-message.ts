import type { BroadcastMessage, Post } from "./model.ts";
import { buildTemplateData, type TemplateFieldMapping } from "./template-data.ts";

/** The product's opt-out wording, kept from the system Fanout replaces. */
export const OPT_OUT_HINT = "回复0取消接收信息,回复1重新接收信息";

export interface MessageSettings {
  readonly templateId: string;
  readonly fieldMapping: TemplateFieldMapping;
  /** Where the template message links to; `{outTradeNo}` is replaced. */
  readonly postUrl?: string;
}

/** Composes what every subscriber receives for a paid post, on either channel. */
export function composePostMessage(post: Post, paidAt: number, settings: MessageSettings): BroadcastMessage {
  const lines = [post.content];
  if (post.contactPhone) lines.push(`联系电话：${post.contactPhone}`);
  lines.push(OPT_OUT_HINT);
  const url = settings.postUrl?.replaceAll("{outTradeNo}", encodeURIComponent(post.outTradeNo));
  return {
    customText: lines.join("\n"),
    template: {
      templateId: settings.templateId,
      ...(url ? { url } : {}),
      data: buildTemplateData(settings.fieldMapping, { ...post, paidAt }),
    },
  };
}
