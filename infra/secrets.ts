import {
  type FunctionKey,
  OPTIONAL_SECRETS,
  SECRET_UNSET,
  SECRETS_REQUIRED_BY,
  type SecretName,
} from "../common/definitions.ts";
import { accessOf } from "./functions.ts";
import type { Settings } from "./settings.ts";

/**
 * One `sst.Secret` per secret the stage's functions read; set each with `npx sst secret set <Name>
 * <value> --stage <stage>`. A missing required one stops the deploy; the optional ones (safe mode's
 * keys, the webhook's signing key) default to a placeholder the functions treat as unset, unless a
 * setting that needs one is given (BROADCAST_WEBHOOK_URL). The AppSecret exists only in refresher
 * mode: with an external token server nothing in the stage holds it.
 */
export function createSecrets(settings: Settings): Partial<Record<SecretName, sst.Secret>> {
  const needed = new Set<SecretName>(settings.functions.flatMap((key: FunctionKey) => accessOf(key).secrets));
  if (settings.deploy.WECHAT_TOKEN_SOURCE === "external") needed.delete("WechatAppSecret");
  const given = (setting: string | undefined) =>
    setting !== undefined && Object.values(settings.environment).some((env) => env[setting] !== undefined);
  const optional = (name: SecretName) =>
    (OPTIONAL_SECRETS as readonly SecretName[]).includes(name) && !given(SECRETS_REQUIRED_BY[name]);
  return Object.fromEntries(
    [...needed].map((name) => [
      name,
      optional(name) ? new sst.Secret(name, SECRET_UNSET) : new sst.Secret(name),
    ]),
  );
}
