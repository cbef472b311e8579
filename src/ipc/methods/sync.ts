// sync.* handlers: thin adapters from validated params to SyncManager (which checks the state).
import type { SyncManager } from "../../sync/SyncManager.js";
import type { PartialMethodTable } from "./types.js";

export function syncMethods(manager: SyncManager): PartialMethodTable<"sync"> {
  return {
    "sync.init": (params) => manager.init(params),
    "sync.status": () => manager.status(),
    "sync.push": (params) => manager.push(params),
    "sync.pull": (params) => manager.pull(params),
    "sync.delete": (params) => manager.deleteCommands(params.ids),
    "sync.now": () => manager.syncNow(),
    "sync.pause": () => manager.pause(),
    "sync.resume": () => manager.resume(),
    "sync.reset": () => manager.reset(),
  };
}
