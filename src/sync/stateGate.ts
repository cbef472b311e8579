// The state gate of docs/protocol.md as one table: which methods each state allows, and the -32001 answer
// for the others. ipc/gate.ts applies it to every request before params validation; SyncManager
// applies the same table to its own methods (which unit tests call directly), so both give the same
// code, message, retryAfterMs and hint.
import { ErrorCode, SyncError, type MethodName, type SyncState } from "../protocol.js";

/** daemon.* and rpc.* work in every state (a client can always ask what this daemon is). */
const isDaemonMethod = (m: MethodName) => m.startsWith("daemon.") || m.startsWith("rpc.");

const ALLOWED: Record<SyncState, (method: MethodName) => boolean> = {
  UNINITIALIZED: (m) => isDaemonMethod(m) || m === "sync.init",
  INITIALIZING: isDaemonMethod,
  ONLINE: () => true,
  OFFLINE: () => true,
};

/** How long a client should wait before retrying a call refused while INITIALIZING. */
export const INITIALIZING_RETRY_AFTER_MS = 1000;

export function isAllowed(state: SyncState, method: MethodName): boolean {
  return ALLOWED[state](method);
}

/** The -32001 a call gets in `state` (UNINITIALIZED or INITIALIZING) when the table refuses it. */
export function notReadyError(state: SyncState): SyncError {
  if (state === "INITIALIZING") {
    return new SyncError(ErrorCode.NotInitialized, `Not ready: the daemon is ${state}`, {
      state,
      retryAfterMs: INITIALIZING_RETRY_AFTER_MS,
      hint: "the daemon is loading its identity; retry shortly",
    });
  }
  return new SyncError(ErrorCode.NotInitialized, "Not Initialized: no sync identity on this device", {
    state,
    hint: "run `caro sync init` first",
  });
}

/** Throws notReadyError(state) unless `state` allows `method`. */
export function checkGate(state: SyncState, method: MethodName): void {
  if (!isAllowed(state, method)) throw notReadyError(state);
}
