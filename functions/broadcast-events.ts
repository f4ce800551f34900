import type { BroadcastEvent } from "./contracts/messages.ts";
import type { BroadcastEvents } from "./core/ports.ts";
import { logger } from "./observability.ts";

/**
 * Where the functions emit a paid post's broadcast events (paused, deferred…). This stage has no
 * webhook yet: an event is logged, without the counts, and goes nowhere. The signed-webhook adapter
 * replaces this module's implementation; its callers keep calling `broadcastEvents(config)`.
 */
export function broadcastEvents(_config: object): BroadcastEvents {
  return {
    async emit(event: BroadcastEvent): Promise<void> {
      logger.info("broadcast event (no webhook on this stage)", {
        eventId: event.eventId,
        event: event.event,
        broadcastId: event.broadcastId,
      });
    },
  };
}
