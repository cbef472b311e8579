// device.* handlers: thin adapters from validated params to SyncManager (which checks the state).
import type { SyncManager } from "../../sync/SyncManager.js";
import type { PartialMethodTable } from "./types.js";

export function deviceMethods(manager: SyncManager): PartialMethodTable<"device"> {
  return {
    "device.register": (params) => manager.registerDevice(params),
    "device.list": () => manager.listDevices(),
    "device.remove": (params) => manager.removeDevice(params.deviceId),
  };
}
