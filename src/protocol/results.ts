// Result schemas: what each method answers. The TypeScript result types are inferred from them, so
// the handlers (typed by ResultOf) and docs/openrpc.json (generated from the schemas) cannot drift
// apart; test/ipc/openrpc.test.ts validates a real daemon's answers against the document. Clients
// must ignore members they do not know: later minor versions may add some.
import { z } from "zod";
import { SYNC_STATES } from "./constants.js";
import type { MethodName } from "./params.js";

const ms = z.number().int().nonnegative();
const count = z.number().int().nonnegative();
const epochMs = (what: string) => ms.describe(`${what} (Unix time, ms)`);

export const syncStateSchema = z.enum(SYNC_STATES);

/** `error.data` of every error (the type is errors.ts' ErrorData). */
export const errorDataSchema = z
  .looseObject({
    reason: z.string().describe("stable key: the code's default reason, or a refinement of it"),
    hint: z.string().optional().describe("what the user can do about it, when there is something"),
  })
  .describe("Error details. Further members depend on the error (field, limit, retryAfterMs, ...).");

export const lastErrorSchema = z.object({
  code: z.number().int().describe("the error code of the failure (-32002 credentials, -32003 network, ...)"),
  reason: z.string().describe("stable key of the failure kind, e.g. relay_unreachable, auth_refused"),
  message: z.string().describe("a fixed text per failure kind, safe to show; never an internal error's text"),
  at: epochMs("when it happened"),
});

const accountPartSchema = z
  .enum([
    "account",
    "profile",
    "root",
    "commandHistory",
    "preferences",
    "preferenceEntries",
    "devices",
    "deviceRecord",
    "group",
  ])
  .describe("a part of the account's data: the account, its profile, the root or one of its parts");

export const missingPartSchema = z.object({
  where: z.enum(["jazz", "relay"]).describe("this device's Jazz storage, or the relay"),
  part: accountPartSchema,
  state: z.enum(["absent", "partial"]).describe("not held at all, or without changes the other side has"),
});

export const integritySchema = z
  .object({
    status: z
      .enum(["unknown", "complete", "restoring", "incomplete"])
      .describe(
        "complete: this device holds the whole account and the relay all it holds; restoring: the relay lacks some of it and is being sent it; incomplete: part of the account is neither here nor on the relay (unhealthy); unknown: not checked yet",
      ),
    checkedAt: ms.nullable().describe("when the last check ended (Unix time, ms); null before the first"),
    missing: z
      .array(missingPartSchema)
      .describe("the parts of the account the last check found missing where"),
    missingCommands: count.describe(
      "commands the last check found missing or behind somewhere (after its repair); see sync.verify",
    ),
  })
  .describe("the completeness check, run after every connection and every syncIntervalMs while not complete");

export const healthResultSchema = z.object({
  healthy: z
    .boolean()
    .describe(
      "false when the cache is not writable (cache.error says why), the credentials were refused, the account is not or only in part on the relay, or integrity is incomplete",
    ),
  uptime: count.describe("seconds since the daemon started"),
  state: syncStateSchema,
  paused: z.boolean(),
  jazz: z.object({
    connected: z.boolean(),
    relay: z.string().describe("the relay URL"),
    latency: z.number().nonnegative().nullable().describe("round trip to the relay in ms; null when unknown"),
  }),
  cache: z.object({
    entries: count,
    sizeBytes: count,
    writable: z.boolean().describe("false while the cache or Jazz's storage beside it cannot be written"),
    error: lastErrorSchema
      .nullable()
      .describe(
        "why it cannot be written: -32008 with reason disk_full, read_only or io_error; null when writable",
      ),
  }),
  queue: z.object({
    pending: count.describe("changes waiting for the relay"),
    failed: count.describe("changes older than offlineQueueTtlMs: kept and retried"),
    oldestAgeMs: ms.nullable().describe("age of the oldest queued change; null when the queue is empty"),
  }),
  lastSync: ms
    .nullable()
    .describe(
      "last successful sync round with the relay (Unix time, ms); null before the first. Not a cursor",
    ),
  lastError: lastErrorSchema.nullable().describe("the last sync error; null after a success"),
  nextRetryAt: ms.nullable().describe("next connection attempt (Unix time, ms); null when none is planned"),
  integrity: integritySchema,
});

const commandSummarySchema = z
  .object({
    commands: count,
    digest: z
      .string()
      .describe("hex SHA-256 over the commands' ids and states (docs/protocol.md, sync.verify)"),
  })
  .describe("the commands one place holds");

export const verifyResultSchema = z.object({
  complete: z
    .boolean()
    .describe("the relay was asked, and the cache, Jazz's storage and the relay hold the same, all of it"),
  checkedAt: epochMs("when the check ended"),
  relayChecked: z.boolean().describe("false when not connected: the relay's side is unknown (null below)"),
  total: z.object({
    cache: commandSummarySchema,
    jazz: commandSummarySchema.nullable().describe("null when the account is not open"),
    relay: commandSummarySchema.nullable(),
  }),
  devices: z
    .array(
      z.object({
        deviceId: z.string().describe("the device that created the commands"),
        cache: commandSummarySchema,
        jazz: commandSummarySchema.nullable(),
        relay: commandSummarySchema.nullable(),
      }),
    )
    .describe("per device, by deviceId"),
  missing: z.object({
    parts: z
      .array(missingPartSchema)
      .describe("parts of the account missing in Jazz's storage or on the relay"),
    commands: z
      .array(
        z.object({
          where: z.enum(["cache", "jazz", "relay"]),
          deviceId: z.string(),
          absent: count.describe("commands another place holds and this one does not"),
          behind: count.describe("commands this place holds in an older state than another"),
          ids: z.array(z.string()).describe("up to 20 of them"),
        }),
      )
      .describe("what each place lacks of what another holds, per device (queued changes excepted)"),
  }),
  repaired: z
    .object({
      downloaded: count.describe("commands merged into the cache from Jazz's storage"),
      uploaded: count.describe("commands queued again from the cache for Jazz and the relay"),
    })
    .nullable()
    .describe("with repair: what it did (the rest of the result is the state after it); else null"),
});

export const deviceInfoSchema = z.object({
  deviceId: z.string(),
  name: z.string(),
  platform: z.string(),
  lastSeen: epochMs("last time the device was seen"),
  firstSeen: epochMs("first registration"),
  isActive: z.boolean().describe("false once removed (sticky)"),
  isCurrentDevice: z.boolean(),
  schemaVersion: z.number().int(),
});

export const pulledEntrySchema = z.object({
  id: z.string().describe("a command's UUID (lowercase), a preference's key, or a device's deviceId"),
  type: z.enum(["command", "preference", "device"]),
  encrypted: z
    .string()
    .describe('the base64 blob as pushed; always "" for type "device" (device rows are not encrypted)'),
  metadata: z.object({
    deviceId: z.string().describe("the device that wrote the entry"),
    createdAt: ms,
    updatedAt: ms.describe("the latest event in the entry's life (not its arrival: see the cursor)"),
    deletedAt: ms.optional().describe("commands: set when deleted (a tombstone)"),
    safetyLevel: z.string().optional().describe("commands only"),
    executed: z.boolean().optional().describe("commands only"),
    success: z.boolean().optional().describe("commands only, once executed"),
    executedAt: ms.optional().describe("commands only, once executed"),
    device: deviceInfoSchema
      .omit({ isCurrentDevice: true })
      .optional()
      .describe('type "device" only: the device record'),
  }),
});

export const pullResultSchema = z.object({
  entries: z.array(pulledEntrySchema),
  hasMore: z.boolean().describe("true: pull again with since = nextCursor"),
  nextCursor: count.describe(
    "the cursor of the last entry returned, or the `since` given (0 when absent) when none: the only safe `since` for the next pull",
  ),
  syncTimestamp: ms.describe(
    "when the daemon answered (Unix time, ms). Not a cursor: never pass it as `since`",
  ),
});

export const initResultSchema = z.object({
  success: z.literal(true),
  deviceId: z.string(),
  syncRootId: z
    .string()
    .nullable()
    .describe(
      "the account's sync root; null while the daemon has not seen it: after a join with the relay unreachable (the root is on the relay), or on a daemon without a relay. Filled in once the relay answers",
    ),
  accountId: z.string(),
  state: syncStateSchema.describe("usually OFFLINE: the connection is made right after, in the background"),
});

export const statusResultSchema = z.object({
  state: syncStateSchema,
  connected: z.boolean(),
  paused: z.boolean(),
  lastSync: ms
    .nullable()
    .describe(
      "last successful sync round with the relay (Unix time, ms); null before the first. Not a cursor",
    ),
  pendingUp: count.describe("queued changes not yet confirmed by the relay (pending + failed)"),
  pendingDown: count.describe("entries in the cache after the highest cursor any client pulled"),
  deviceId: z.string().nullable(),
  accountId: z.string().nullable(),
});

export const pushResultSchema = z.object({
  synced: count.describe("entries accepted (with ack relay: confirmed by the relay)"),
  failed: z.array(z.string()).describe('ids of the entries that failed ("#<index>" when unusable)'),
  errors: z
    .array(z.object({ id: z.string(), code: z.number().int(), message: z.string() }))
    .describe("one per failed entry, with its own code (-32602, -32006, -32007, -32003)"),
});

/** A loose view of an OpenRPC document (the full shape is the OpenRPC meta-schema's). */
export const openRpcDocumentSchema = z.looseObject({
  openrpc: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  methods: z.array(z.looseObject({ name: z.string() })),
});

export const resultSchemas = {
  "rpc.discover": openRpcDocumentSchema,
  "daemon.handshake": z.object({
    protocolVersion: z.string(),
    minSupportedVersion: z.string(),
    daemonVersion: z.string(),
    capabilities: z.array(z.string()),
  }),
  "daemon.ping": z.object({ pong: z.literal(true), version: z.string(), uptime: count }),
  "daemon.health": healthResultSchema,
  "daemon.shutdown": z.object({
    acknowledged: z.literal(true),
    pendingOperations: count.describe("queued changes and requests in flight, this one excluded"),
  }),
  "daemon.subscribe": z.object({ subscribed: z.array(z.string()) }),
  "daemon.unsubscribe": z.object({ unsubscribed: z.literal(true) }),
  "daemon.metrics": z.object({
    contentType: z.string(),
    text: z.string().describe("Prometheus text exposition format"),
  }),
  "sync.init": initResultSchema,
  "sync.status": statusResultSchema,
  "sync.push": pushResultSchema,
  "sync.pull": pullResultSchema,
  "sync.delete": z.object({ deleted: count }),
  "sync.now": z.object({ pushed: count, pulled: count }),
  "sync.pause": z.object({ paused: z.literal(true) }),
  "sync.resume": z.object({ paused: z.literal(false) }),
  "sync.reset": z.object({ reset: z.literal(true) }),
  "sync.verify": verifyResultSchema,
  "device.register": z.object({ deviceId: z.string(), registeredAt: epochMs("this registration") }),
  "device.list": z.object({ devices: z.array(deviceInfoSchema) }),
  "device.remove": z.object({ removed: z.literal(true) }),
} as const satisfies Record<MethodName, z.ZodType>;

export type LastError = z.infer<typeof lastErrorSchema>;
export type HealthResult = z.infer<typeof healthResultSchema>;
export type DeviceInfo = z.infer<typeof deviceInfoSchema>;
export type PulledEntry = z.infer<typeof pulledEntrySchema>;
export type PullResult = z.infer<typeof pullResultSchema>;
export type InitResult = z.infer<typeof initResultSchema>;
export type StatusResult = z.infer<typeof statusResultSchema>;
export type PushResult = z.infer<typeof pushResultSchema>;
export type VerifyResult = z.infer<typeof verifyResultSchema>;
export type HandshakeResult = z.infer<(typeof resultSchemas)["daemon.handshake"]>;
export type PingResult = z.infer<(typeof resultSchemas)["daemon.ping"]>;
export type ShutdownResult = z.infer<(typeof resultSchemas)["daemon.shutdown"]>;
export type SubscribeResult = z.infer<(typeof resultSchemas)["daemon.subscribe"]>;
export type MetricsResult = z.infer<(typeof resultSchemas)["daemon.metrics"]>;
export type OpenRpcDocument = z.infer<typeof openRpcDocumentSchema>;

export type ResultMap = { [M in MethodName]: z.infer<(typeof resultSchemas)[M]> };
export type ResultOf<M extends MethodName> = ResultMap[M];
