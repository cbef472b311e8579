// The CoValues one account's data consists of, and what of them a node and the relay hold: the
// account, its profile, the canonical root and each of its parts (with their groups). Used by the
// session to tell whether the relay holds everything this device holds (waitForUpload, inventory)
// and what is missing where (sync.verify).
import type { LocalNode, RawCoList, RawCoMap, RawCoStream } from "cojson";
import type { MissingPart, PartName, RemoteRecord } from "../sync/remote.js";
import {
  contentOf,
  editsOf,
  feedSessionLogs,
  heldByPeer,
  heldLocally,
  isHeldHere,
  type HeldState,
} from "./cojsonAdapter.js";
import { shardsOf } from "./commandHistory.js";
import { mergeInto, valuesByFirstSet } from "./rootFolds.js";
import { toCommandRecord } from "./rootRecords.js";

type CommandRecord = Extract<RemoteRecord, { type: "command" }>;

export interface Part {
  part: PartName;
  id: string;
}

/**
 * Walks the account from its ID: the parts this node holds (`present`), and the ones it knows of
 * but does not hold (`missing`). `rootId` is the canonical root (null when the account names none).
 * The history's shard lists and shards count as `commandHistory`; a shard unloaded from memory
 * (JazzSession) is held all the same.
 */
export function accountParts(
  node: LocalNode,
  accountId: string,
  rootId: string | null,
): { present: Part[]; missing: MissingPart[] } {
  const present: Part[] = [];
  const missing: MissingPart[] = [];
  const groups = new Set<string>();
  /** The part's content when this node holds it; records it as present or missing either way. */
  const visit = <T extends RawCoMap | RawCoList = RawCoMap>(part: PartName, id: unknown): T | undefined => {
    if (typeof id !== "string") {
      missing.push({ part, state: "absent" });
      return undefined;
    }
    const content = contentOf<T>(node, id);
    if (!content) {
      missing.push({ part, state: "absent" });
      return undefined;
    }
    present.push({ part, id });
    // Every part is readable only with its group: the relay must hold that too.
    if (part !== "account") groups.add(content.group.id);
    return content;
  };
  const account = visit("account", accountId);
  if (!account) return { present, missing };
  visit("profile", account.get("profile"));
  const root = visit("root", rootId);
  if (root) {
    // The feeds of the history may be unloaded (held all the same); they share the root's group.
    const feed = (id: unknown) => {
      if (typeof id === "string" && isHeldHere(node, id)) present.push({ part: "commandHistory", id });
      else missing.push({ part: "commandHistory", state: "absent" });
    };
    feed(root.get("commandHistory"));
    for (const listId of valuesByFirstSet(editsOf(root, "commandShards")))
      if (visit<RawCoList>("commandHistory", listId)) for (const id of shardsOf(node, listId)) feed(id);
    const prefs = visit("preferences", root.get("preferences"));
    if (prefs) visit("preferenceEntries", prefs.get("entries"));
    const devices = visit<RawCoList>("devices", root.get("devices"));
    for (const id of devices?.asArray() ?? []) visit("deviceRecord", id);
  }
  for (const id of groups) if (id !== accountId) present.push({ part: "group", id });
  return { present, missing };
}

/** True when `held` has the header and at least every transaction of `ours`. */
export function holdsAll(held: HeldState | undefined, ours: HeldState): boolean {
  if (!ours.header) return true;
  if (!held?.header) return false;
  return Object.entries(ours.sessions).every(([session, count]) => (held.sessions[session] ?? 0) >= count);
}

/** The present parts the relay does not hold in full, as it said on the current connection. */
export function missingOnPeer(node: LocalNode, peerId: string, parts: readonly Part[]): MissingPart[] {
  const out: MissingPart[] = [];
  for (const { part, id } of parts) {
    const held = heldByPeer(node, peerId, id);
    if (holdsAll(held, heldLocally(node, id))) continue;
    out.push({ part, state: held?.header ? "partial" : "absent" });
  }
  return out;
}

/**
 * Every command of the feed merged by id, from the transactions `holds` accepts (default: all this
 * node holds). Items of one transaction share it, so a peer's per-session count says which it has.
 */
export function feedCommands(
  node: LocalNode,
  feedId: string,
  holds: (session: string, txIndex: number) => boolean = () => true,
): CommandRecord[] {
  const feed = contentOf<RawCoStream>(node, feedId);
  if (!feed) return [];
  const byId = new Map<string, CommandRecord>();
  for (const [session, items] of feedSessionLogs(feed)) {
    for (const item of items) {
      if (!holds(session, item.tx.txIndex)) continue;
      const record = toCommandRecord(item.value);
      if (record) mergeInto(byId, record);
    }
  }
  return [...byId.values()];
}

/** The commands in the feed transactions the peer holds, as it said on the current connection. */
export function feedCommandsOnPeer(node: LocalNode, peerId: string, feedId: string): CommandRecord[] {
  const held = heldByPeer(node, peerId, feedId);
  if (!held?.header) return [];
  return feedCommands(node, feedId, (session, txIndex) => txIndex < (held.sessions[session] ?? 0));
}
