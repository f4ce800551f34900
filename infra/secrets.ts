import { type FunctionKey, OPTIONAL_SECRETS, SECRET_UNSET, type SecretName } from "../common/definitions.ts";
import { accessOf } from "./functions.ts";
import type { Settings } from "./settings.ts";

/**
 * One `sst.Secret` per secret the stage's functions read; set each with `npx sst secret set <Name>
 * <value> --stage <stage>`. A missing required one stops the deploy; the optional ones (safe mode's
 * keys) default to a placeholder the functions treat as unset. The AppSecret exists only in
 * refresher mode: with an external token server nothing in the stage holds it.
 */
export function createSecrets(settings: Settings): Partial<Record<SecretName, sst.Secret>> {
  const needed = new Set<SecretName>(settings.functions.flatMap((key: FunctionKey) => accessOf(key).secrets));
  if (settings.deploy.WECHAT_TOKEN_SOURCE === "external") needed.delete("WechatAppSecret");
  return Object.fromEntries(
    [...needed].map((name) => [
      name,
      (OPTIONAL_SECRETS as readonly SecretName[]).includes(name)
        ? new sst.Secret(name, SECRET_UNSET)
        : new sst.Secret(name),
    ]),
  );
}
