// The wire contract's constants: protocol version, capabilities, limits, client timeouts, states,
// entry types, the events and the JSON-RPC 2.0 envelope. Nothing here does I/O, and nothing loads a
// schema library: clients import this file (and errors.ts) without the rest of protocol/.
import type { ErrorData } from "./errors.js";
import type { EventName } from "./notifications.js";

/**
 * This daemon's protocol version (semver). 1.1.0 added `rpc.discover` and made `nextCursor` of
 * `sync.pull` always a number; a 1.0.0 client still works unchanged (same major).
 */
export const PROTOCOL_VERSION = "1.1.0";
export const MIN_SUPPORTED_PROTOCOL_VERSION = "1.0.0";
/** What this daemon offers, as reported by `daemon.handshake`. */
export const DAEMON_CAPABILITIES = [
  "batch",
  "notifications",
  "subscribe",
  "metrics",
  "ack.relay",
  "pull.types",
  "rpc.discover",
] as const;

/** Largest JSON-RPC line (message or batch) the daemon reads, in bytes, newline excluded. */
export const MAX_LINE_BYTES = 1024 * 1024;
/** Largest `encrypted` field of one pushed entry, in base64 characters. */
export const MAX_ENTRY_BASE64 = 256 * 1024;
export const PULL_LIMIT_DEFAULT = 100;
export const PULL_LIMIT_MAX = 1000;
/** Most entries in one `sync.push`, most ids in one `sync.delete`. */
export const MAX_ENTRIES_PER_REQUEST = 10_000;

/** Client-side timeouts the protocol recommends, in ms (docs/protocol.md, "Limits"). */
export const TIMEOUTS = {
  connect: 5_000,
  request: 30_000,
  push: 60_000,
  fullPull: 300_000,
  daemonStart: 5_000,
} as const;

export const SYNC_STATES = ["UNINITIALIZED", "INITIALIZING", "ONLINE", "OFFLINE"] as const;
export type SyncState = (typeof SYNC_STATES)[number];

export const SAFETY_LEVELS = ["safe", "moderate", "high", "critical"] as const;
export const ENTRY_TYPES = ["command", "preference", "device"] as const;
export type EntryType = (typeof ENTRY_TYPES)[number];

/** The notifications a client can subscribe to (daemon.notificationsDropped always comes). */
export const EVENT_NAMES = [
  "sync.stateChange",
  "sync.complete",
  "sync.error",
  "sync.entries",
] as const satisfies readonly EventName[];

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
