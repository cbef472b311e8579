// The Jazz path's reducers: how feed items, the edits of a preference key and the versions of a
// DeviceRecord CoMap fold into records, with the joins of sync/merge.ts — the cache's rules, so a
// record reaches the same state whichever path it takes (test/sync/merge.property.test.ts runs
// both on random histories). Pure: cojson's content comes in through cojsonAdapter.ts's shapes.
import { joinCommand, joinPreference } from "../sync/merge.js";
import { commandRecord, deviceRecord, preferenceRecord } from "../sync/records.js";
import type { RemoteRecord } from "../sync/remote.js";
import type { MapEdit } from "./cojsonAdapter.js";
import { parsePreferenceValue } from "./schema.js";

type CommandRecord = Extract<RemoteRecord, { type: "command" }>;
type PreferenceRecord = Extract<RemoteRecord, { type: "preference" }>;
type DeviceRecord = Extract<RemoteRecord, { type: "device" }>;

/** Merges command records by id (within one delivery, or in the feed index): sync/merge.ts. */
export function mergeInto(byId: Map<string, CommandRecord>, record: CommandRecord): CommandRecord {
  const prev = byId.get(record.id);
  const merged = prev ? joinCommand(prev, record) : commandRecord(record);
  byId.set(record.id, merged);
  return merged;
}

/**
 * One key's preference: the join (sync/merge.ts) of every well-formed value ever set on it, not
 * cojson's own LWW by transaction time, so a stale value written late never wins.
 */
export function foldPreferenceEdits(key: string, edits: readonly MapEdit[]): PreferenceRecord | undefined {
  let best: PreferenceRecord | undefined;
  for (const edit of edits) {
    const value = edit.deleted ? null : parsePreferenceValue(edit.value);
    if (!value) continue;
    const record = preferenceRecord({ key, ...value });
    best = best ? joinPreference(best, record) : record;
  }
  return best;
}

/**
 * One DeviceRecord CoMap, read as the join (sync/merge.ts `joinDevice`) of every version written to
 * it rather than as cojson's per-key LWW by transaction time: two devices updating one map at once
 * must not leave a state that loses a removal or a newer lastSeen, or one that differs from what
 * the caches computed. Writers assign the whole record in one transaction (rootWriter.ts), so a
 * version is a transaction: firstSeen is the least ever set, lastSeen and schemaVersion the
 * greatest, isActive false once ever set false, name/platform those of the transaction that set the
 * greatest lastSeen (a tie: the greater name, then platform). A transaction that did not set them
 * (another Jazz client's edit, an older caro-sync) leaves the map's current value. Null when a field
 * never had a valid value.
 */
export function foldDeviceEdits(edits: ReadonlyMap<string, readonly MapEdit[]>): DeviceRecord | null {
  const str = (v: unknown): v is string => typeof v === "string";
  const num = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
  const names = valid(edits, "name", str);
  const platforms = valid(edits, "platform", str);
  const lastSeens = valid(edits, "lastSeen", num);
  // reduce, not Math.min(...list): a map refreshed every 5 minutes has too many edits to spread.
  const firstSeen = valid(edits, "firstSeen", num).reduce((m, e) => Math.min(m, e.value), Infinity);
  const schemaVersion = valid(edits, "schemaVersion", num).reduce((m, e) => Math.max(m, e.value), -Infinity);
  const actives = valid(edits, "isActive", (v): v is boolean => typeof v === "boolean");
  const deviceId = latest(valid(edits, "deviceId", str));
  const [currentName, currentPlatform] = [latest(names), latest(platforms)];
  if (deviceId === undefined || currentName === undefined || currentPlatform === undefined) return null;
  if (![firstSeen, schemaVersion].every(Number.isFinite) || !lastSeens.length || !actives.length) return null;
  const lastSeen = lastSeens.reduce((m, e) => Math.max(m, e.value), -Infinity);
  const newest = lastSeens.filter((e) => e.value === lastSeen).map((e) => e.edit);
  const nameOf = byTransaction(names, newest);
  const platformOf = byTransaction(platforms, newest);
  let described: [string, string] | undefined;
  for (const tx of newest.map(txKey)) {
    const [n, p] = [nameOf.get(tx) ?? currentName, platformOf.get(tx) ?? currentPlatform];
    if (!described || n > described[0] || (n === described[0] && p > described[1])) described = [n, p];
  }
  const [name, platform] = described ?? [currentName, currentPlatform];
  const isActive = actives.every((e) => e.value);
  return deviceRecord({ deviceId, name, platform, schemaVersion, firstSeen, lastSeen, isActive });
}

type Valid<T> = { edit: MapEdit; value: T };

/** The key's set edits whose value has the right type. */
function valid<T>(edits: ReadonlyMap<string, readonly MapEdit[]>, key: string, ok: (v: unknown) => v is T) {
  const out: Valid<T>[] = [];
  for (const edit of edits.get(key) ?? [])
    if (!edit.deleted && ok(edit.value)) out.push({ edit, value: edit.value });
  return out;
}

const txKey = (edit: MapEdit) => `${edit.sessionID}/${edit.txIndex}`;

/** The values `list` has in the transactions of `txs`, by transaction (madeAt first: no string per edit). */
function byTransaction<T>(list: readonly Valid<T>[], txs: readonly MapEdit[]): Map<string, T> {
  const times = new Set(txs.map((e) => e.madeAt));
  const keys = new Set(txs.map(txKey));
  const out = new Map<string, T>();
  for (const { edit, value } of list)
    if (times.has(edit.madeAt) && keys.has(txKey(edit))) out.set(txKey(edit), value);
  return out;
}

/** The latest edit's value: by madeAt, then transaction (like cojson's LWW, and the same everywhere). */
function latest<T>(list: readonly Valid<T>[]): T | undefined {
  let best: Valid<T> | undefined;
  for (const v of list) {
    const a = v.edit;
    const b = best?.edit;
    if (!b || a.madeAt > b.madeAt || (a.madeAt === b.madeAt && txKey(a) > txKey(b))) best = v;
  }
  return best?.value;
}

/**
 * Every string value ever set on a key, ordered by when it was first set (earliest madeAt, then
 * transaction ID): the same order on every device, whatever order the edits arrived in.
 */
export function valuesByFirstSet(edits: readonly MapEdit[]): string[] {
  const first = new Map<string, { madeAt: number; session: string; index: number }>();
  for (const edit of edits) {
    if (typeof edit.value !== "string") continue;
    const seen = first.get(edit.value);
    const here = { madeAt: edit.madeAt, session: edit.sessionID, index: edit.txIndex };
    if (!seen || compare(here, seen) < 0) first.set(edit.value, here);
  }
  return [...first.entries()].sort((a, b) => compare(a[1], b[1])).map(([id]) => id);
}

function compare(
  a: { madeAt: number; session: string; index: number },
  b: { madeAt: number; session: string; index: number },
): number {
  return (
    a.madeAt - b.madeAt || (a.session < b.session ? -1 : a.session > b.session ? 1 : 0) || a.index - b.index
  );
}
