// Parameter schemas: the daemon validates every request's `params` with these (ipc/dispatch.ts),
// the client library is typed by them, and docs/openrpc.json is generated from them. Params may be
// omitted or `{}` where every field is optional. Non-strict objects ignore unknown members;
// `.strict()` ones refuse them with -32602.
import { z } from "zod";
import {
  ENTRY_TYPES,
  MAX_ENTRIES_PER_REQUEST,
  MAX_ENTRY_BASE64,
  PULL_LIMIT_MAX,
  SAFETY_LEVELS,
} from "./constants.js";

const empty = z.object({}).strict().optional();
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "expected base64");
const ms = z.number().int().nonnegative();

const pushEntry = z.object({
  id: z.string().min(1).max(256).describe("a command's UUID, or a preference's key"),
  type: z.enum(["command", "preference"]),
  encrypted: z
    .string()
    .describe(`base64 of a version-1 blob (at least 29 bytes), at most ${MAX_ENTRY_BASE64} characters`),
  metadata: z.record(z.string(), z.unknown()),
});

export const paramsSchemas = {
  "rpc.discover": empty,
  "daemon.handshake": z.object({
    clientVersion: z.string().max(100),
    protocolVersion: z.string().regex(/^\d+\.\d+\.\d+$/, "expected a semver version such as 1.0.0"),
  }),
  "daemon.ping": empty,
  "daemon.health": empty,
  "daemon.shutdown": z
    .object({ reason: z.string().max(500).optional() })
    .strict()
    .optional(),
  "daemon.subscribe": z
    .object({
      events: z
        .array(z.string())
        .max(32)
        .optional()
        .describe("notification names (default: all of them); an unknown name is -32602"),
    })
    .strict()
    .optional(),
  "daemon.unsubscribe": empty,
  "daemon.metrics": empty,
  "sync.init": z.object({
    accountId: z.string().min(1).max(200).optional(),
    authKey: base64.describe("base64 of the 32-byte key derived from the recovery phrase"),
    deviceName: z.string().min(1).max(200),
    platform: z.string().min(1).max(50),
    /**
     * "join": never create; the account must exist on the relay (the derived accountId is implied).
     * Absent: "join" when accountId is given, else "create".
     */
    mode: z
      .enum(["create", "join"])
      .optional()
      .describe('absent: "join" when accountId is given, else "create"'),
  }),
  "sync.status": empty,
  "sync.push": z.object({
    // Entries are validated one by one (a bad entry fails alone), so only the envelope is strict.
    entries: z
      .array(z.unknown())
      .max(MAX_ENTRIES_PER_REQUEST)
      .describe("checked one by one: a bad entry fails alone, in the result's `errors`"),
    ack: z
      .enum(["local", "relay"])
      .optional()
      .describe('"local" (default): answer once durable in the cache; "relay": once the relay confirmed'),
  }),
  "sync.pull": z
    .object({
      since: z
        .number()
        .int()
        .nonnegative()
        .nullable()
        .optional()
        .describe("a nextCursor from an earlier page; null or absent: from the start"),
      limit: z.number().int().min(1).max(PULL_LIMIT_MAX).optional().describe("default 100"),
      types: z.array(z.enum(ENTRY_TYPES)).optional().describe("absent or []: every type"),
    })
    .optional(),
  "sync.delete": z.object({
    ids: z.array(z.string().min(1).max(256)).min(1).max(MAX_ENTRIES_PER_REQUEST),
  }),
  "sync.now": empty,
  "sync.pause": empty,
  "sync.resume": empty,
  "sync.reset": z.object({
    confirm: z.literal(true),
    /** Forget entries the relay has not confirmed too; without it such a reset is refused. */
    discardUnsynced: z.boolean().optional(),
  }),
  "sync.verify": z
    .object({
      repair: z
        .boolean()
        .optional()
        .describe(
          "upload to Jazz and the relay, and download into the cache, what is missing (default false)",
        ),
    })
    .strict()
    .optional(),
  "device.register": z.object({
    name: z.string().min(1).max(200),
    platform: z.string().min(1).max(50),
  }),
  "device.list": empty,
  "device.remove": z.object({ deviceId: z.string().min(1).max(200) }),
} as const;

/** One pushed entry, checked per entry inside `sync.push`. */
export const pushEntrySchema = pushEntry;
export const commandMetadataSchema = z.object({
  deviceId: z.string().min(1).max(200),
  createdAt: ms,
  safetyLevel: z.enum(SAFETY_LEVELS),
  executed: z.boolean().optional(),
  success: z.boolean().optional(),
  executedAt: ms.optional(),
  deletedAt: ms.optional(),
});
export const preferenceMetadataSchema = z.object({
  deviceId: z.string().min(1).max(200),
  updatedAt: ms,
});

/**
 * A valid `sync.push` entry, composed of the three schemas above, for the documentation only
 * (the daemon checks them one at a time in sync/validate.ts, so it can say which check failed).
 */
export const pushEntryDocSchema = z.discriminatedUnion("type", [
  pushEntry.extend({ type: z.literal("command"), metadata: commandMetadataSchema }),
  pushEntry.extend({ type: z.literal("preference"), metadata: preferenceMetadataSchema }),
]);

export type MethodName = keyof typeof paramsSchemas;
export type ParamsOf<M extends MethodName> = z.input<(typeof paramsSchemas)[M]>;
