// sync.* handlers: thin adapters from validated params to SyncManager (which checks the state).
import type { SyncManager } from "../../sync/SyncManager.js";
import type { PartialMethodTable } from "./types.js";

export function syncMethods(manager: SyncManager): PartialMethodTable<"sync"> {
  return {
    "sync.init": (params) => manager.initialize(params),
    "sync.status": () => manager.getStatus(),
    // A client that hangs up stops an `ack: "relay"` wait (its entries stay queued).
    "sync.push": (params, { signal }) => manager.pushEntries(params, { signal }),
    "sync.pull": (params) => manager.pullEntries(params),
    "sync.delete": (params) => manager.deleteCommands(params.ids),
    "sync.now": () => manager.syncNow(),
    "sync.pause": () => manager.pause(),
    "sync.resume": () => manager.resume(),
    "sync.reset": (p) => manager.reset(p),
    "sync.verify": (params) => manager.verify(params),
  };
}
