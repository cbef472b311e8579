// One typed convenience method per method of the protocol, over the generic `call`. Methods with
// params take the method's params object as it is on the wire; methods without take only options.
import type { EventName, MethodName, ParamsOf, ResultOf } from "../protocol.js";
import { PROTOCOL_VERSION } from "../protocol/constants.js";
import { DAEMON_VERSION } from "../version.js";

export interface CallOptions {
  /** Overrides the method's default timeout (30 s; push 60 s; full pull 300 s). */
  timeoutMs?: number;
}

type PullParams = NonNullable<ParamsOf<"sync.pull">>;

export abstract class SyncMethods {
  abstract call<M extends MethodName>(
    method: M,
    params: ParamsOf<M>,
    opts?: CallOptions,
  ): Promise<ResultOf<M>>;

  /** The daemon's OpenRPC document: every method, result, error and notification (docs/openrpc.json). */
  discover(opts?: CallOptions) {
    return this.call("rpc.discover", {}, opts);
  }

  // daemon.*
  /** Optional version check; rejects with -32602 (`data.supported`) when the majors differ. */
  handshake(params?: ParamsOf<"daemon.handshake">, opts?: CallOptions) {
    const p = params ?? { clientVersion: DAEMON_VERSION, protocolVersion: PROTOCOL_VERSION };
    return this.call("daemon.handshake", p, opts);
  }
  ping(opts?: CallOptions) {
    return this.call("daemon.ping", {}, opts);
  }
  health(opts?: CallOptions) {
    return this.call("daemon.health", {}, opts);
  }
  /** The daemon answers, then drains, flushes and exits; the connection closes when it is gone. */
  shutdown(params: ParamsOf<"daemon.shutdown"> = {}, opts?: CallOptions) {
    return this.call("daemon.shutdown", params, opts);
  }
  /** Starts notifications on this connection (all events when `events` is omitted); see `on`. */
  subscribe(params: { events?: EventName[] } = {}, opts?: CallOptions) {
    return this.call("daemon.subscribe", params, opts);
  }
  unsubscribe(opts?: CallOptions) {
    return this.call("daemon.unsubscribe", {}, opts);
  }
  metrics(opts?: CallOptions) {
    return this.call("daemon.metrics", {}, opts);
  }

  // sync.*
  init(params: ParamsOf<"sync.init">, opts?: CallOptions) {
    return this.call("sync.init", params, opts);
  }
  status(opts?: CallOptions) {
    return this.call("sync.status", {}, opts);
  }
  /**
   * Entries are `{id, type, encrypted, metadata}`; one bad entry fails alone (see `failed`).
   * One request must stay under 1 MiB: see `pushInBatches` for any number of entries.
   */
  push(params: ParamsOf<"sync.push">, opts?: CallOptions) {
    return this.call("sync.push", params, opts);
  }
  /**
   * One page from the local cache; page on with `since: nextCursor` until `hasMore` is false.
   * `nextCursor` is always a number and the only safe `since` (never `syncTimestamp`).
   */
  pull(params: PullParams = {}, opts?: CallOptions) {
    return this.call("sync.pull", params, opts);
  }
  delete(params: ParamsOf<"sync.delete">, opts?: CallOptions) {
    return this.call("sync.delete", params, opts);
  }
  now(opts?: CallOptions) {
    return this.call("sync.now", {}, opts);
  }
  pause(opts?: CallOptions) {
    return this.call("sync.pause", {}, opts);
  }
  resume(opts?: CallOptions) {
    return this.call("sync.resume", {}, opts);
  }
  /** Forgets this device's identity, cache and queue (`confirm: true` is required, and the default). */
  reset(params: ParamsOf<"sync.reset"> = { confirm: true }, opts?: CallOptions) {
    return this.call("sync.reset", params, opts);
  }

  /**
   * Compares the commands of the cache, Jazz's storage and the relay per device (counts and
   * digests) and lists what is missing where; `repair: true` mends what it can first (up to ~40 s).
   */
  verify(params: ParamsOf<"sync.verify"> = {}, opts?: CallOptions) {
    return this.call("sync.verify", params, opts);
  }

  // device.*
  registerDevice(params: ParamsOf<"device.register">, opts?: CallOptions) {
    return this.call("device.register", params, opts);
  }
  listDevices(opts?: CallOptions) {
    return this.call("device.list", {}, opts);
  }
  removeDevice(params: ParamsOf<"device.remove">, opts?: CallOptions) {
    return this.call("device.remove", params, opts);
  }
}
