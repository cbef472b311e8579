// How the IPC layer sees a method: a handler for already-validated params. ipc/dispatch.ts
// validates `params` with `paramsSchemas[method]` from protocol.ts before calling it, and is the one
// place that turns a thrown error into a wire error (through sync/failures.ts toSyncError: a
// SyncError keeps its code; anything else gets a fixed message, the detail goes to the log).
import type { z } from "zod";
import type { MethodName, NotificationMap, paramsSchemas, ResultOf } from "../../protocol.js";

/** The connection a request arrived on, as handlers may use it. */
export interface Connection {
  readonly id: number;
  /** Queue a server-to-client notification; bounded per connection (drops are reported). */
  notify<E extends keyof NotificationMap>(method: E, params: NotificationMap[E]): void;
  /** Runs once when the connection closes; returns an unsubscribe function. */
  onClose(listener: () => void): () => void;
  /**
   * Marks the connection as serving a subscription: while held it is never closed for being idle
   * (neither to make room for new clients nor by the idle timeout). Returns the release function.
   */
  holdOpen(): () => void;
  /**
   * Aborted when the client is gone (the connection closed, or it hung up while requests were
   * running): nobody is left to read an answer. A client that only half-closed is still reading.
   */
  readonly signal: AbortSignal;
}

export interface MethodContext {
  readonly connection: Connection;
  /** The connection's signal: long waits (sync.push `ack: "relay"`) end when it aborts. */
  readonly signal: AbortSignal;
}

export type ParamsOutput<M extends MethodName> = z.output<(typeof paramsSchemas)[M]>;

export type Handler<M extends MethodName> = (
  params: ParamsOutput<M>,
  ctx: MethodContext,
) => ResultOf<M> | Promise<ResultOf<M>>;

/** Every method of protocol.ts must have a handler: the type makes a missing one a compile error. */
export type MethodTable = { [M in MethodName]: Handler<M> };
/** One namespace's share of the table (daemon.ts, sync.ts, device.ts each export one). */
export type PartialMethodTable<P extends string> = {
  [M in MethodName as M extends `${P}.${string}` ? M : never]: Handler<M>;
};
