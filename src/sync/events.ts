// SyncManager's events, and a minimal typed emitter: `on` returns the unsubscribe function; a
// throwing listener is reported and never breaks the emitter or the other listeners.
import type { NotificationMap } from "../protocol.js";

/** Payloads match protocol.ts NotificationMap, so ipc/ forwards them as notifications. */
export interface SyncEvents {
  stateChange: NotificationMap["sync.stateChange"];
  syncComplete: NotificationMap["sync.complete"];
  error: NotificationMap["sync.error"];
  entries: NotificationMap["sync.entries"];
  /**
   * A connection became wanted: start-up, init, resume ("start", "init", "resume": a fresh retry
   * burst, attempted at once when the manager connects by itself) or a drop ("disconnected": the
   * retry schedule is already set). Emitted by the connection machine; for observers and tests.
   */
  connectionWanted: { reason: string };
}

export class Emitter<Events extends { [K in keyof Events]: unknown }> {
  private readonly listeners = new Map<keyof Events, Set<(payload: never) => void>>();

  constructor(private readonly onListenerError: (err: unknown) => void) {}

  on<E extends keyof Events>(event: E, listener: (payload: Events[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as (payload: Events[E]) => void)(payload);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}
