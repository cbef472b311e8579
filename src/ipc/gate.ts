// The state gate of SPEC §3, as one table: which methods each state allows. The dispatcher calls
// it after method lookup and before params validation, so a gated call never reaches a handler.
import { ErrorCode, SyncError, type MethodName, type SyncState } from "../protocol.js";

const isDaemonMethod = (m: MethodName) => m.startsWith("daemon.");

const ALLOWED: Record<SyncState, (method: MethodName) => boolean> = {
  UNINITIALIZED: (m) => isDaemonMethod(m) || m === "sync.init",
  INITIALIZING: isDaemonMethod,
  ONLINE: () => true,
  OFFLINE: () => true,
};

/** How long a client should wait before retrying a call refused while INITIALIZING. */
export const INITIALIZING_RETRY_AFTER_MS = 500;

export function createGate(getState: () => SyncState): (method: MethodName) => void {
  return (method) => {
    const state = getState();
    if (ALLOWED[state](method)) return;
    if (state === "UNINITIALIZED") {
      throw new SyncError(ErrorCode.NotInitialized, "Not Initialized: no sync identity on this device", {
        state,
        hint: "run `caro sync init` first",
      });
    }
    throw new SyncError(ErrorCode.NotInitialized, `Not ready: the daemon is ${state}`, {
      state,
      retryAfterMs: INITIALIZING_RETRY_AFTER_MS,
      hint: "the daemon is loading its identity; retry shortly",
    });
  };
}
