import { type SecretName, secrets as secretNames } from "./definitions.ts";

/**
 * One `sst.Secret` per secret of definitions.ts; set each with `npx sst secret set <Name> <value>
 * --stage <stage>`. Functions get them only through `link`.
 */
export function createSecrets(): Record<SecretName, sst.Secret> {
  return Object.fromEntries(Object.keys(secretNames).map((name) => [name, new sst.Secret(name)])) as Record<
    SecretName,
    sst.Secret
  >;
}
