// daemon.* methods: handshake, ping, health, shutdown, subscribe, metrics; and rpc.discover, the
// OpenRPC convention's self-description (the document of src/protocol/openrpc.ts).
import {
  DAEMON_CAPABILITIES,
  EVENT_NAMES,
  ErrorCode,
  MIN_SUPPORTED_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  SyncError,
  type EventName,
  type HealthResult,
  type NotificationMap,
} from "../../protocol.js";
import { openRpcDocument } from "../../protocol/openrpc.js";
import type { Metrics } from "../../metrics/metrics.js";
import type { Clock } from "../../sync/clock.js";
import type { Connection, PartialMethodTable } from "./types.js";

type SubscribableEvent = (typeof EVENT_NAMES)[number];

/** The narrow view of the daemon these methods need; main.ts provides it. */
export interface DaemonMethodDeps {
  version: string;
  startedAt: number;
  clock: Clock;
  metrics: Metrics;
  health(): Omit<HealthResult, "uptime">;
  pendingOperations(): number;
  /** Starts the ordered shutdown after the current response has been written. */
  requestShutdown(reason: string): void;
  /** Subscribes to one daemon event; returns the unsubscribe function. */
  subscribe<E extends SubscribableEvent>(
    event: E,
    listener: (payload: NotificationMap[E]) => void,
  ): () => void;
}

export function daemonMethods(
  deps: DaemonMethodDeps,
): PartialMethodTable<"daemon"> & PartialMethodTable<"rpc"> {
  const uptime = () => Math.max(0, Math.floor((deps.clock.now() - deps.startedAt) / 1000));
  const subscriptions = new Map<number, () => void>();

  const unsubscribe = (connection: Connection) => {
    subscriptions.get(connection.id)?.();
    subscriptions.delete(connection.id);
  };

  return {
    "rpc.discover": () => openRpcDocument(),
    "daemon.handshake": ({ protocolVersion }) => {
      if (major(protocolVersion) !== major(PROTOCOL_VERSION)) {
        throw new SyncError(ErrorCode.InvalidParams, `Unsupported protocol version ${protocolVersion}`, {
          reason: "unsupported_protocol_version",
          field: "protocolVersion",
          supported: [PROTOCOL_VERSION],
          hint: `this daemon speaks protocol ${PROTOCOL_VERSION}; upgrade the client or the daemon`,
        });
      }
      return {
        protocolVersion: PROTOCOL_VERSION,
        minSupportedVersion: MIN_SUPPORTED_PROTOCOL_VERSION,
        daemonVersion: deps.version,
        capabilities: [...DAEMON_CAPABILITIES],
      };
    },
    "daemon.ping": () => ({ pong: true, version: deps.version, uptime: uptime() }),
    "daemon.health": () => ({ ...deps.health(), uptime: uptime() }),
    "daemon.shutdown": (params) => {
      const pendingOperations = deps.pendingOperations();
      deps.requestShutdown(params?.reason ?? "daemon.shutdown");
      return { acknowledged: true, pendingOperations };
    },
    "daemon.subscribe": (params, { connection }) => {
      const requested = params?.events ?? [...EVENT_NAMES];
      const unknown = requested.filter((e) => !(EVENT_NAMES as readonly string[]).includes(e));
      if (unknown.length > 0) {
        throw new SyncError(ErrorCode.InvalidParams, `Unknown event ${unknown[0]}`, {
          field: "events",
          supported: [...EVENT_NAMES],
        });
      }
      const events = [...new Set(requested)] as SubscribableEvent[];
      unsubscribe(connection);
      const offs = events.map((event) =>
        deps.subscribe(event, (payload) => connection.notify(event as EventName, payload as never)),
      );
      const offClose = connection.onClose(() => unsubscribe(connection));
      const release = connection.holdOpen();
      subscriptions.set(connection.id, () => {
        offs.forEach((off) => off());
        offClose();
        release();
      });
      return { subscribed: events };
    },
    "daemon.unsubscribe": (_params, { connection }) => {
      unsubscribe(connection);
      return { unsubscribed: true };
    },
    "daemon.metrics": async () => {
      const registry = await deps.metrics.registry();
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
  };
}

function major(version: string): number {
  return Number(version.split(".")[0]);
}
