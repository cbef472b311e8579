// Server-to-client notifications, sent on a connection after `daemon.subscribe`. The payload types
// are inferred from the schemas (docs/openrpc.json lists them under `x-notifications`).
import { z } from "zod";
import { syncStateSchema } from "./results.js";

const ms = z.number().int().nonnegative();
const count = z.number().int().nonnegative();

export const notificationSchemas = {
  "sync.stateChange": z.object({ from: syncStateSchema, to: syncStateSchema, at: ms }),
  "sync.complete": z.object({
    pushed: count.describe("changes the relay confirmed in this round"),
    pulled: count.describe("entries received from the relay since the previous round"),
    at: ms,
  }),
  "sync.error": z.object({
    code: z.number().int(),
    reason: z.string().describe("stable key of the failure kind, as in daemon.health lastError"),
    message: z.string().describe("a fixed text per failure kind, safe to show"),
    retryInMs: ms.nullable().describe("delay until the next connection attempt; null when none is planned"),
  }),
  "sync.entries": z.object({
    count: count.describe("entries that changed in the cache"),
    cursor: count.describe("the highest cursor among them: pulling from your last nextCursor returns them"),
  }),
  /** Sent once in place of each run of notifications dropped for a slow reader. */
  "daemon.notificationsDropped": z.object({ dropped: z.number().int().positive() }),
} as const;

export type NotificationMap = {
  [E in keyof typeof notificationSchemas]: z.infer<(typeof notificationSchemas)[E]>;
};
export type EventName = keyof NotificationMap;
