import { schedules } from "../common/definitions.ts";
import { type Functions, required } from "./functions.ts";

/** The EventBridge schedules of definitions.ts (UTC rates), each invoking its function with its event. */
export function createSchedules(fns: Functions) {
  return Object.fromEntries(
    Object.entries(schedules).map(([key, def]) => [
      key,
      new sst.aws.Cron(`${key[0]?.toUpperCase()}${key.slice(1)}Schedule`, {
        schedule: `rate(${def.everyMinutes} ${def.everyMinutes === 1 ? "minute" : "minutes"})`,
        function: required(fns, def.function).arn,
        event: def.event,
      }),
    ]),
  );
}
