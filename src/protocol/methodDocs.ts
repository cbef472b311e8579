// What docs/openrpc.json says about each method and notification beyond its schemas: a summary,
// the errors it can answer with, and one example (checked against the schemas by
// test/ipc/openrpc.test.ts, so the examples cannot go stale). The prose is in docs/protocol.md.
import { DAEMON_CAPABILITIES } from "./constants.js";
import type { ERROR_REASON_VARIANTS, ErrorName } from "./errors.js";
import type { EventName, NotificationMap } from "./notifications.js";
import type { MethodName, ParamsOf } from "./params.js";
import type { ResultOf } from "./results.js";

export type DocumentedError = ErrorName | keyof typeof ERROR_REASON_VARIANTS;

export interface MethodDoc<M extends MethodName> {
  summary: string;
  /** Errors this method answers with, besides the transport ones (-32700, -32600, -32601, -32006). */
  errors: DocumentedError[];
  example: { params: NonNullable<ParamsOf<M>>; result: ResultOf<M> };
}

const DEVICE = "7f0c2a4e-3b1d-4c5e-9a8f-1e2d3c4b5a69";
const OTHER_DEVICE = "0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70";
const ACCOUNT = "co_zKbCjn5Gcpvz1Xx1U4s2ydFTfWq";
const ROOT = "co_zMd3Yv8eN2Q9u7rTtKq5wPqYbHc";
const COMMAND = "3f2b8c1e-4d5a-4e6f-8a7b-9c0d1e2f3a4b";
const BLOB = "AQcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
const T = 1_767_225_600_000;
const DIGEST = "5f2b8c0d9e1a4b3c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";

const GATED: DocumentedError[] = ["NotInitialized", "InternalError"];
/** A method that writes to the cache answers -32008 when the disk refuses (docs/protocol.md §3). */
const WRITES: DocumentedError[] = ["StorageUnavailable", "DiskFull", "ReadOnlyStorage"];

export const METHOD_DOCS: { [M in MethodName]: MethodDoc<M> } = {
  "rpc.discover": {
    summary: "This document: the OpenRPC description of the protocol. Works in every state.",
    errors: ["InternalError"],
    example: {
      params: {},
      result: { openrpc: "1.3.2", info: { title: "caro-sync daemon", version: "1.1.0" }, methods: [] },
    },
  },
  "daemon.handshake": {
    summary: "Optional version check; a client whose protocol major differs is refused.",
    errors: ["UnsupportedProtocolVersion", "InvalidParams", "InternalError"],
    example: {
      params: { clientVersion: "caro 0.4.0", protocolVersion: "1.1.0" },
      result: {
        protocolVersion: "1.1.0",
        minSupportedVersion: "1.0.0",
        daemonVersion: "0.1.0",
        capabilities: [...DAEMON_CAPABILITIES],
      },
    },
  },
  "daemon.ping": {
    summary: "Liveness check.",
    errors: ["InvalidParams", "InternalError"],
    example: { params: {}, result: { pong: true, version: "0.1.0", uptime: 12 } },
  },
  "daemon.health": {
    summary: "Health of the daemon, the cache, the queue and the relay connection. Works in every state.",
    errors: ["InvalidParams", "InternalError"],
    example: {
      params: {},
      result: {
        healthy: true,
        uptime: 3600,
        state: "ONLINE",
        paused: false,
        jazz: { connected: true, relay: "wss://mesh.jazz.tools", latency: 42 },
        cache: { entries: 1520, sizeBytes: 1_183_744, writable: true, error: null },
        queue: { pending: 0, failed: 0, oldestAgeMs: null },
        lastSync: T,
        lastError: null,
        nextRetryAt: null,
        integrity: { status: "complete", checkedAt: T, missing: [], missingCommands: 0 },
      },
    },
  },
  "daemon.shutdown": {
    summary: "Answers, then drains requests in flight, flushes to the relay and exits 0.",
    errors: ["InvalidParams", "InternalError"],
    example: { params: { reason: "upgrade" }, result: { acknowledged: true, pendingOperations: 0 } },
  },
  "daemon.subscribe": {
    summary: "Starts notifications on this connection (all events by default); again replaces the set.",
    errors: ["InvalidParams", "InternalError"],
    example: {
      params: { events: ["sync.stateChange", "sync.entries"] },
      result: { subscribed: ["sync.stateChange", "sync.entries"] },
    },
  },
  "daemon.unsubscribe": {
    summary: "Stops this connection's notifications.",
    errors: ["InvalidParams", "InternalError"],
    example: { params: {}, result: { unsubscribed: true } },
  },
  "daemon.metrics": {
    summary: "Prometheus metrics of the daemon, as text.",
    errors: ["InvalidParams", "InternalError"],
    example: {
      params: {},
      result: {
        contentType: "text/plain; version=0.0.4; charset=utf-8",
        text: "# TYPE caro_sync_queue_size gauge\ncaro_sync_queue_size 0\n",
      },
    },
  },
  "sync.init": {
    summary: "Stores this device's sync identity: creates the account (mode create) or joins it (mode join).",
    errors: [
      "InvalidParams",
      "InvalidCredentials",
      "AccountNotFound",
      "AlreadyInitialized",
      ...WRITES,
      ...GATED,
    ],
    example: {
      params: {
        authKey: "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=",
        deviceName: "laptop",
        platform: "linux",
      },
      result: { success: true, deviceId: DEVICE, syncRootId: ROOT, accountId: ACCOUNT, state: "OFFLINE" },
    },
  },
  "sync.status": {
    summary: "State, connection, pending counts and the identity.",
    errors: ["InvalidParams", ...GATED],
    example: {
      params: {},
      result: {
        state: "ONLINE",
        connected: true,
        paused: false,
        lastSync: T,
        pendingUp: 0,
        pendingDown: 3,
        deviceId: DEVICE,
        accountId: ACCOUNT,
      },
    },
  },
  "sync.push": {
    summary: "Stores entries durably in the cache and queues them for the relay; a bad entry fails alone.",
    errors: ["InvalidParams", "RateLimited", ...WRITES, ...GATED],
    example: {
      params: {
        entries: [
          {
            id: COMMAND,
            type: "command",
            encrypted: BLOB,
            metadata: { deviceId: DEVICE, createdAt: T, safetyLevel: "safe" },
          },
          {
            id: "theme",
            type: "preference",
            encrypted: "bm90IGEgYmxvYg==",
            metadata: { deviceId: DEVICE, updatedAt: T },
          },
        ],
      },
      result: {
        synced: 1,
        failed: ["theme"],
        errors: [{ id: "theme", code: -32007, message: "encrypted blob is 10 bytes, at least 29 expected" }],
      },
    },
  },
  "sync.pull": {
    summary: "One page of the local cache after a cursor; never touches the network.",
    errors: ["InvalidParams", ...GATED],
    example: {
      params: { since: 41, limit: 2 },
      result: {
        entries: [
          {
            id: COMMAND,
            type: "command",
            encrypted: BLOB,
            metadata: { deviceId: DEVICE, createdAt: T, updatedAt: T, safetyLevel: "safe", executed: false },
          },
          {
            id: OTHER_DEVICE,
            type: "device",
            encrypted: "",
            metadata: {
              deviceId: OTHER_DEVICE,
              createdAt: T - 86_400_000,
              updatedAt: T,
              device: {
                deviceId: OTHER_DEVICE,
                name: "desktop",
                platform: "darwin",
                schemaVersion: 1,
                firstSeen: T - 86_400_000,
                lastSeen: T,
                isActive: true,
              },
            },
          },
        ],
        hasMore: true,
        nextCursor: 57,
        syncTimestamp: T + 5000,
      },
    },
  },
  "sync.delete": {
    summary: "Deletes commands (tombstones, synced like any change); unknown ids are not counted.",
    errors: ["InvalidParams", "RateLimited", ...WRITES, ...GATED],
    example: { params: { ids: [COMMAND] }, result: { deleted: 1 } },
  },
  "sync.now": {
    summary: "Runs one upload round with the relay now.",
    errors: ["InvalidParams", "NetworkUnreachable", ...WRITES, ...GATED],
    example: { params: {}, result: { pushed: 2, pulled: 5 } },
  },
  "sync.pause": {
    summary: "Disconnects from the relay and stops reconnecting; pushes still land in the cache.",
    errors: ["InvalidParams", ...WRITES, ...GATED],
    example: { params: {}, result: { paused: true } },
  },
  "sync.resume": {
    summary: "Undoes sync.pause: connects again.",
    errors: ["InvalidParams", ...WRITES, ...GATED],
    example: { params: {}, result: { paused: false } },
  },
  "sync.reset": {
    summary:
      "Forgets this device's identity, cache and queue; the state becomes UNINITIALIZED. Refused while changes are not yet on the relay, unless discardUnsynced.",
    errors: ["InvalidParams", ...WRITES, ...GATED],
    example: { params: { confirm: true }, result: { reset: true } },
  },
  "sync.verify": {
    summary:
      "Compares the commands held in the cache, in Jazz's local storage and on the relay (asked afresh), per device by count and digest, and lists what is missing where; with repair, uploads and downloads what is missing first.",
    errors: ["InvalidParams", ...GATED],
    example: {
      params: { repair: true },
      result: {
        complete: true,
        checkedAt: T,
        relayChecked: true,
        total: {
          cache: { commands: 2, digest: DIGEST },
          jazz: { commands: 2, digest: DIGEST },
          relay: { commands: 2, digest: DIGEST },
        },
        devices: [
          {
            deviceId: DEVICE,
            cache: { commands: 2, digest: DIGEST },
            jazz: { commands: 2, digest: DIGEST },
            relay: { commands: 2, digest: DIGEST },
          },
        ],
        missing: { parts: [], commands: [] },
        repaired: { downloaded: 0, uploaded: 0 },
      },
    },
  },
  "device.register": {
    summary: "Renames this device or changes its platform.",
    errors: ["InvalidParams", ...WRITES, ...GATED],
    example: {
      params: { name: "work laptop", platform: "linux" },
      result: { deviceId: DEVICE, registeredAt: T },
    },
  },
  "device.list": {
    summary: "Every device of the account, removed ones included (isActive false).",
    errors: ["InvalidParams", ...GATED],
    example: {
      params: {},
      result: {
        devices: [
          {
            deviceId: DEVICE,
            name: "laptop",
            platform: "linux",
            lastSeen: T,
            firstSeen: T - 86_400_000,
            isActive: true,
            isCurrentDevice: true,
            schemaVersion: 1,
          },
        ],
      },
    },
  },
  "device.remove": {
    summary: "Marks another device removed (sticky); this device or an unknown one is -32602.",
    errors: ["InvalidParams", ...WRITES, ...GATED],
    example: { params: { deviceId: OTHER_DEVICE }, result: { removed: true } },
  },
};

export interface NotificationDoc<E extends EventName> {
  summary: string;
  example: NotificationMap[E];
}

export const NOTIFICATION_DOCS: { [E in EventName]: NotificationDoc<E> } = {
  "sync.stateChange": {
    summary: "The daemon's state changed.",
    example: { from: "OFFLINE", to: "ONLINE", at: T },
  },
  "sync.complete": {
    summary: "A sync round with the relay ended (an upload run or sync.now) and moved something.",
    example: { pushed: 2, pulled: 5, at: T },
  },
  "sync.error": {
    summary: "A sync error: a failed connection attempt, a dropped connection, a failed upload.",
    example: {
      code: -32003,
      reason: "relay_unreachable",
      message: "relay unreachable (ECONNREFUSED)",
      retryInMs: 4000,
    },
  },
  "sync.entries": {
    summary: "Entries changed in the cache (local pushes or records from the relay): time to pull.",
    example: { count: 3, cursor: 60 },
  },
  "daemon.notificationsDropped": {
    summary: "Stands in place of notifications dropped while the client did not read (always sent).",
    example: { dropped: 17 },
  },
};
