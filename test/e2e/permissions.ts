/**
 * The least-privilege check of the local stack: every request a function made needed an action, on
 * a table or queue, that common/definitions.ts `permissions` grants it (the same list the deployed
 * roles are built from). A request the list forgot would be refused in AWS; here it fails the tests.
 */
import {
  type FunctionKey,
  permissions,
  type QueueKey,
  queues,
  type TableKey,
  tables,
} from "../../common/definitions.ts";

const tableByName = new Map(
  Object.entries(tables).map(([key, def]) => [def.name as string, key as TableKey]),
);
const queueByName = new Map(
  Object.entries(queues).map(([key, def]) => [def.name as string, key as QueueKey]),
);

/** `<function>: <service>:<action> <resource>` for each access no permission covers. */
export function accessBeyondPermissions(byFunction: Record<string, Record<string, number>>): string[] {
  return Object.entries(byFunction).flatMap(([fn, accesses]) =>
    Object.keys(accesses).flatMap((access) => (allowed(fn, access) ? [] : [`${fn}: ${access}`])),
  );
}

function allowed(fn: string, access: string): boolean {
  const granted = permissions[fn as FunctionKey];
  if (!granted) return false;
  const match = /^(dynamodb|sqs):(\w+) ([^/ ]+)(\/index\/\S+)?$/.exec(access);
  if (!match) return false;
  const [, service, action, resource, index] = match as unknown as [string, string, string, string, string?];
  if (service === "dynamodb") {
    const table = tableByName.get(resource);
    const actions = table ? (granted.tables as Record<string, readonly string[]>)[table] : undefined;
    return (actions?.includes(action) ?? false) && (index === undefined || action === "Query");
  }
  const queue = queueByName.get(resource);
  const actions = queue ? (granted.queues as Record<string, readonly string[]>)[queue] : undefined;
  return actions?.includes(action) ?? false;
}
