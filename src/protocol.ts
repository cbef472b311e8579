// The wire contract between the daemon and its clients (SPEC §2–§4): protocol version, limits,
// error codes, states, method names, parameter schemas and result types. Shared by ipc/ (which
// validates with these schemas) and client/ (which is typed by them). Nothing here does I/O.
import { z } from "zod";

export const PROTOCOL_VERSION = "1.0.0";
export const MIN_SUPPORTED_PROTOCOL_VERSION = "1.0.0";
/** What this daemon offers, as reported by `daemon.handshake`. */
export const DAEMON_CAPABILITIES = [
  "batch",
  "notifications",
  "subscribe",
  "metrics",
  "ack.relay",
  "pull.types",
] as const;

/** Largest JSON-RPC line (message or batch) the daemon reads, in bytes, newline excluded. */
export const MAX_LINE_BYTES = 1024 * 1024;
/** Largest `encrypted` field of one pushed entry, in base64 characters. */
export const MAX_ENTRY_BASE64 = 256 * 1024;
export const PULL_LIMIT_DEFAULT = 100;
export const PULL_LIMIT_MAX = 1000;

/** Client-side timeouts of SPEC §4 "Timeouts", in ms. */
export const TIMEOUTS = {
  connect: 5_000,
  request: 30_000,
  push: 60_000,
  fullPull: 300_000,
  daemonStart: 5_000,
} as const;

export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  NotInitialized: -32001,
  InvalidCredentials: -32002,
  NetworkUnreachable: -32003,
  AlreadyInitialized: -32004,
  RateLimited: -32005,
  PayloadTooLarge: -32006,
  EncryptionError: -32007,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Default message and stable `data.reason` key for each code (SPEC §4 "Error codes"). */
export const ERROR_TABLE: Record<ErrorCode, { message: string; reason: string }> = {
  [ErrorCode.ParseError]: { message: "Parse error", reason: "parse_error" },
  [ErrorCode.InvalidRequest]: { message: "Invalid Request", reason: "invalid_request" },
  [ErrorCode.MethodNotFound]: { message: "Method not found", reason: "method_not_found" },
  [ErrorCode.InvalidParams]: { message: "Invalid params", reason: "invalid_params" },
  [ErrorCode.InternalError]: { message: "Internal error", reason: "internal_error" },
  [ErrorCode.NotInitialized]: { message: "Not Initialized", reason: "not_initialized" },
  [ErrorCode.InvalidCredentials]: { message: "Invalid Credentials", reason: "invalid_credentials" },
  [ErrorCode.NetworkUnreachable]: { message: "Network Unreachable", reason: "network_unreachable" },
  [ErrorCode.AlreadyInitialized]: { message: "Already Initialized", reason: "already_initialized" },
  [ErrorCode.RateLimited]: { message: "Rate Limited", reason: "rate_limited" },
  [ErrorCode.PayloadTooLarge]: { message: "Payload Too Large", reason: "payload_too_large" },
  [ErrorCode.EncryptionError]: { message: "Encryption Error", reason: "encryption_error" },
};

export type ErrorData = { reason: string; hint?: string; [key: string]: unknown };

/**
 * The one error type that carries a contract code. The IPC layer sends its code, message and
 * data as they are; any other thrown value becomes -32603 with a generic message.
 */
export class SyncError extends Error {
  readonly code: ErrorCode;
  readonly data: ErrorData;

  constructor(code: ErrorCode, message?: string, data: Partial<ErrorData> & { cause?: unknown } = {}) {
    const { cause, ...rest } = data;
    super(message ?? ERROR_TABLE[code].message, cause === undefined ? undefined : { cause });
    this.name = "SyncError";
    this.code = code;
    this.data = { ...rest, reason: rest.reason ?? ERROR_TABLE[code].reason };
  }

  toJSON(): { code: ErrorCode; message: string; data: ErrorData } {
    return { code: this.code, message: this.message, data: this.data };
  }
}

export const SYNC_STATES = ["UNINITIALIZED", "INITIALIZING", "ONLINE", "OFFLINE"] as const;
export type SyncState = (typeof SYNC_STATES)[number];

// ---------------------------------------------------------------------------------------------
// JSON-RPC 2.0 envelope types
export type JsonRpcId = string | number | null;
export interface JsonRpcRequest {
  jsonrpc: "2.0";
  id?: JsonRpcId;
  method: string;
  params?: unknown;
}
export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: ErrorData;
}
export type JsonRpcResponse =
  | { jsonrpc: "2.0"; id: JsonRpcId; result: unknown }
  | { jsonrpc: "2.0"; id: JsonRpcId; error: JsonRpcErrorObject };
export interface JsonRpcNotification {
  jsonrpc: "2.0";
  method: string;
  params?: unknown;
}

// ---------------------------------------------------------------------------------------------
// Parameter schemas. Params may be omitted or `{}` where every field is optional.
const empty = z.object({}).strict().optional();
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "expected base64");

export const SAFETY_LEVELS = ["safe", "moderate", "high", "critical"] as const;
export const ENTRY_TYPES = ["command", "preference", "device"] as const;
export type EntryType = (typeof ENTRY_TYPES)[number];

const pushEntry = z.object({
  id: z.string().min(1).max(256),
  type: z.enum(["command", "preference"]),
  encrypted: z.string(),
  metadata: z.record(z.string(), z.unknown()),
});

export const paramsSchemas = {
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
    .object({ events: z.array(z.string()).max(32).optional() })
    .strict()
    .optional(),
  "daemon.unsubscribe": empty,
  "daemon.metrics": empty,
  "sync.init": z.object({
    accountId: z.string().min(1).max(200).optional(),
    authKey: base64,
    deviceName: z.string().min(1).max(200),
    platform: z.string().min(1).max(50),
    /**
     * "join": never create; the account must exist on the relay (the derived accountId is implied).
     * Absent: "join" when accountId is given, else "create".
     */
    mode: z.enum(["create", "join"]).optional(),
  }),
  "sync.status": empty,
  "sync.push": z.object({
    // Entries are validated one by one (a bad entry fails alone), so only the envelope is strict.
    entries: z.array(z.unknown()).max(10_000),
    ack: z.enum(["local", "relay"]).optional(),
  }),
  "sync.pull": z
    .object({
      since: z.number().int().nonnegative().nullable().optional(),
      limit: z.number().int().min(1).max(PULL_LIMIT_MAX).optional(),
      types: z.array(z.enum(ENTRY_TYPES)).optional(),
    })
    .optional(),
  "sync.delete": z.object({ ids: z.array(z.string().min(1).max(256)).min(1).max(10_000) }),
  "sync.now": empty,
  "sync.pause": empty,
  "sync.resume": empty,
  "sync.reset": z.object({ confirm: z.literal(true) }),
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
  createdAt: z.number().int().nonnegative(),
  safetyLevel: z.enum(SAFETY_LEVELS),
  executed: z.boolean().optional(),
  success: z.boolean().optional(),
  executedAt: z.number().int().nonnegative().optional(),
  deletedAt: z.number().int().nonnegative().optional(),
});
export const preferenceMetadataSchema = z.object({
  deviceId: z.string().min(1).max(200),
  updatedAt: z.number().int().nonnegative(),
});

export type MethodName = keyof typeof paramsSchemas;
export type ParamsOf<M extends MethodName> = z.input<(typeof paramsSchemas)[M]>;

// ---------------------------------------------------------------------------------------------
// Results
export interface HandshakeResult {
  protocolVersion: string;
  minSupportedVersion: string;
  daemonVersion: string;
  capabilities: string[];
}
export interface PingResult {
  pong: true;
  version: string;
  uptime: number;
}
export interface LastError {
  code: number;
  message: string;
  at: number;
}
export interface HealthResult {
  healthy: boolean;
  uptime: number;
  state: SyncState;
  paused: boolean;
  jazz: { connected: boolean; relay: string; latency: number | null };
  cache: { entries: number; sizeBytes: number; writable: boolean };
  queue: { pending: number; failed: number; oldestAgeMs: number | null };
  lastSync: number | null;
  lastError: LastError | null;
  nextRetryAt: number | null;
}
export interface ShutdownResult {
  acknowledged: true;
  pendingOperations: number;
}
export interface SubscribeResult {
  subscribed: string[];
}
export interface MetricsResult {
  contentType: string;
  text: string;
}
export interface InitResult {
  success: true;
  deviceId: string;
  syncRootId: string | null;
  accountId: string;
  state: SyncState;
}
export interface StatusResult {
  state: SyncState;
  connected: boolean;
  paused: boolean;
  lastSync: number | null;
  pendingUp: number;
  pendingDown: number;
  deviceId: string | null;
  accountId: string | null;
}
export interface PushResult {
  synced: number;
  failed: string[];
  errors: { id: string; code: number; message: string }[];
}
export interface DeviceInfo {
  deviceId: string;
  name: string;
  platform: string;
  lastSeen: number;
  firstSeen: number;
  isActive: boolean;
  isCurrentDevice: boolean;
  schemaVersion: number;
}
export interface PulledEntry {
  id: string;
  type: EntryType;
  encrypted: string;
  metadata: {
    deviceId: string;
    createdAt: number;
    updatedAt: number;
    deletedAt?: number;
    safetyLevel?: string;
    executed?: boolean;
    success?: boolean;
    executedAt?: number;
    device?: Omit<DeviceInfo, "isCurrentDevice">;
  };
}
export interface PullResult {
  entries: PulledEntry[];
  hasMore: boolean;
  nextCursor: number | null;
  syncTimestamp: number;
}

export interface ResultMap {
  "daemon.handshake": HandshakeResult;
  "daemon.ping": PingResult;
  "daemon.health": HealthResult;
  "daemon.shutdown": ShutdownResult;
  "daemon.subscribe": SubscribeResult;
  "daemon.unsubscribe": { unsubscribed: true };
  "daemon.metrics": MetricsResult;
  "sync.init": InitResult;
  "sync.status": StatusResult;
  "sync.push": PushResult;
  "sync.pull": PullResult;
  "sync.delete": { deleted: number };
  "sync.now": { pushed: number; pulled: number };
  "sync.pause": { paused: true };
  "sync.resume": { paused: false };
  "sync.reset": { reset: true };
  "device.register": { deviceId: string; registeredAt: number };
  "device.list": { devices: DeviceInfo[] };
  "device.remove": { removed: true };
}
export type ResultOf<M extends MethodName> = ResultMap[M];

// ---------------------------------------------------------------------------------------------
// Server-to-client notifications after `daemon.subscribe`
export interface NotificationMap {
  "sync.stateChange": { from: SyncState; to: SyncState; at: number };
  "sync.complete": { pushed: number; pulled: number; at: number };
  "sync.error": { code: number; message: string; retryInMs: number | null };
  "sync.entries": { count: number; cursor: number };
  /** Sent once when notifications were dropped for a slow reader (see docs/protocol.md). */
  "daemon.notificationsDropped": { dropped: number };
}
export type EventName = keyof NotificationMap;
export const EVENT_NAMES = [
  "sync.stateChange",
  "sync.complete",
  "sync.error",
  "sync.entries",
] as const satisfies readonly EventName[];
