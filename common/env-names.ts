/**
 * Environment variable names under which the functions find their resources. The local stack and the
 * SST infrastructure both derive them from the keys of `tables` and `queues` in common/definitions.ts,
 * so adding a table or queue there adds its variable everywhere (infra/functions.ts, infra/local/emulators.ts). Dependency-free on purpose: handler
 * config may import it without pulling in the emulators.
 */

/** `pushTasks` → `PUSH_TASKS`, `send` → `SEND`. */
function constantCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .toUpperCase();
}

/** `subscribers` → `TABLE_SUBSCRIBERS`; the value is the table's physical name. */
export function tableEnvName(key: string): string {
  return `TABLE_${constantCase(key)}`;
}

/** `send` → `QUEUE_URL_SEND`, or `QUEUE_URL_SEND_DLQ` for its dead-letter queue. */
export function queueUrlEnvName(key: string, deadLetter = false): string {
  return `QUEUE_URL_${constantCase(key)}${deadLetter ? "_DLQ" : ""}`;
}
