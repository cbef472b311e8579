// Creating a CaroSyncRoot (once, for a new account) and loading one with all its parts.
import type { LocalNode, RawCoList, RawCoMap } from "cojson";
import { Group, type Account } from "jazz-tools";
import { contentOf, editsOf, isAvailable, loadCoValue } from "./cojsonAdapter.js";
import { valuesByFirstSet } from "./rootFolds.js";
import { readRootIds, type RootIds } from "./rootRecords.js";
import { CaroSyncRoot, ROOT_SCHEMA_VERSION } from "./schema.js";

/**
 * Creates an empty CaroSyncRoot in its own group owned by the account and points the account at it.
 * Only for an account this process has just created: on any other account a root may exist.
 */
export function createRoot(account: Account, now: number): string {
  const group = Group.create({ owner: account });
  const root = CaroSyncRoot.create(
    {
      schemaVersion: ROOT_SCHEMA_VERSION,
      commandHistory: [],
      commandShards: [],
      preferences: { entries: {}, updatedAt: now },
      devices: [],
      createdAt: now,
      updatedAt: now,
    },
    { owner: group },
  );
  // Trusting, as cojson itself rewrites the account's root key on login.
  account.$jazz.raw.set("root", root.$jazz.id as never, "trusting");
  return root.$jazz.id;
}

/**
 * Loads a root, its parts (the shard lists of its history, not the shards: commandHistory.ts) and
 * every DeviceRecord; undefined when some part is not available. With
 * `skipPeer` (the relay's peer ID, while its link is down), only local storage is asked.
 */
export async function loadRoot(
  node: LocalNode,
  rootId: string,
  skipPeer?: string,
): Promise<RootIds | undefined> {
  if (!(await loadCoValue(node, rootId, skipPeer))) return undefined;
  const root = contentOf<RawCoMap>(node, rootId);
  const prefsId = root?.get("preferences");
  if (typeof prefsId !== "string" || !(await loadCoValue(node, prefsId, skipPeer))) return undefined;
  const partial = readRootIds(node, rootId);
  if (!partial) return undefined;
  const lists = root ? valuesByFirstSet(editsOf(root, "commandShards")) : [];
  const parts = [partial.feed, partial.entries, partial.devices, ...lists];
  const loaded = await Promise.all(parts.map((id) => loadCoValue(node, id, skipPeer)));
  if (loaded.includes(false)) return undefined;
  await loadDeviceMaps(node, partial.devices, skipPeer);
  return partial;
}

/** Loads the DeviceRecords of a list; those not available stay out until a later call. */
export async function loadDeviceMaps(node: LocalNode, listId: string, skipPeer?: string): Promise<void> {
  const list = contentOf<RawCoList>(node, listId);
  const ids = (list?.asArray() ?? []).filter((id): id is string => typeof id === "string");
  await Promise.all(ids.filter((id) => !isAvailable(node, id)).map((id) => loadCoValue(node, id, skipPeer)));
}
