// The state gate (docs/protocol.md): the dispatcher calls it after method lookup and before params
// validation, so a gated call never reaches a handler. The table itself lives in sync/stateGate.ts,
// shared with SyncManager so both answer the same -32001.
import type { MethodName, SyncState } from "../protocol.js";
import { checkGate } from "../sync/stateGate.js";

export { INITIALIZING_RETRY_AFTER_MS } from "../sync/stateGate.js";

export function createGate(getState: () => SyncState): (method: MethodName) => void {
  return (method) => checkGate(getState(), method);
}
