// Random histories for the merge properties, and the two paths a record can take to its final
// state: the cache path (apply.ts into a real SqliteCache) and the Jazz path (the reducers of
// jazz/rootFolds.ts that jazz/rootRecords.ts reads the root with), here over synthetic feed items
// and map edits. merge.jazz.test.ts runs the same histories through real CoValues.
//
// Values come from small domains on purpose, so that versions collide: equal timestamps, equal
// device ids, the same payload on two commands, a tie of two execution reports.
import fc from "fast-check";
import type { SqliteCache } from "../../src/cache/index.js";
import type { MapEdit } from "../../src/jazz/cojsonAdapter.js";
import { foldDeviceEdits, foldPreferenceEdits, mergeInto } from "../../src/jazz/rootFolds.js";
import { applyChanges } from "../../src/sync/apply.js";
import { joinDevice, joinRecords } from "../../src/sync/merge.js";
import {
  commandRecord,
  deviceRecord,
  keyString,
  normalize,
  preferenceRecord,
  recordKey,
  type CommandRecord,
  type DeviceRecord,
  type PreferenceRecord,
} from "../../src/sync/records.js";
import type { RemoteRecord } from "../../src/sync/remote.js";

export const DEVICE_IDS = ["dev-a", "dev-b", "dev-c"] as const;
/** Stand-ins for encrypted blobs (neither path decodes them). */
export const PAYLOADS = [
  "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
  "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB",
];
const SAFETY = ["safe", "moderate", "high", "critical"] as const;
const at = (min: number, max: number) => fc.integer({ min, max });
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/** Who created a command: the fields that never change for an honest writer. */
export interface Origin {
  deviceId: string;
  encryptedPayload: string;
  safetyLevel: string;
  createdAt: number;
}

export const originArb = (payloads: readonly string[] = PAYLOADS): fc.Arbitrary<Origin> =>
  fc.record({
    deviceId: fc.constantFrom(...DEVICE_IDS),
    encryptedPayload: fc.constantFrom(...payloads),
    safetyLevel: fc.constantFrom(...SAFETY),
    createdAt: at(1000, 1002),
  });

/** One version of a command: an origin (fixed, or drawn per version), and what happened since. */
export function commandArb(
  id: string,
  origin: fc.Arbitrary<Origin> = originArb(),
): fc.Arbitrary<CommandRecord> {
  return fc
    .record({
      origin,
      executed: fc.boolean(),
      success: maybe(fc.boolean()),
      executedAt: maybe(at(2000, 2003)),
      deletedAt: maybe(at(3000, 3003)),
    })
    .map(({ origin: o, ...rest }) => commandRecord({ id, ...o, ...rest }));
}

export function preferenceArb(key: string): fc.Arbitrary<PreferenceRecord> {
  return fc
    .record({
      deviceId: fc.constantFrom(...DEVICE_IDS),
      encrypted: fc.constantFrom(...PAYLOADS),
      updatedAt: at(1000, 1003),
    })
    .map((p) => preferenceRecord({ key, ...p }));
}

export function deviceArb(deviceId: string): fc.Arbitrary<DeviceRecord> {
  return fc
    .record({
      name: fc.constantFrom("laptop", "desk", "renamed"),
      platform: fc.constantFrom("linux", "darwin"),
      schemaVersion: at(1, 2),
      firstSeen: at(1000, 1003),
      lastSeen: at(1000, 1004),
      isActive: fc.oneof(
        { arbitrary: fc.constant(true), weight: 3 },
        { arbitrary: fc.constant(false), weight: 1 },
      ),
    })
    .map((d) => deviceRecord({ deviceId, ...d }));
}

export interface HistoryOptions {
  /** Every version of a command shares one origin (what honest writers do). */
  honest: boolean;
}

/** Every key of a generated history starts with this; `rekey` swaps it for a run's own prefix. */
export const PLACEHOLDER = "00000000";

/**
 * The record under another 8-character key prefix: runs share one cache (and one Jazz account), and
 * fast-check replays a failing case while shrinking, so every run gets keys of its own.
 */
export function rekey<R extends RemoteRecord>(record: R, prefix: string): R {
  const swap = (key: string) => prefix + key.slice(PLACEHOLDER.length);
  if (record.type === "command") return { ...record, id: swap(record.id) };
  if (record.type === "preference") return { ...record, key: swap(record.key) };
  return { ...record, deviceId: swap(record.deviceId) };
}

/** A state with its keys back under the placeholder, to compare runs made under other prefixes. */
export function unkey(state: ReadonlyMap<string, RemoteRecord>): Map<string, RemoteRecord> {
  const out = new Map<string, RemoteRecord>();
  for (const record of state.values()) {
    const back = rekey(record, PLACEHOLDER);
    out.set(keyString(recordKey(back)), back);
  }
  return out;
}

let runs = 0;
/** A fresh prefix (8 hex digits, so command ids stay UUIDs). */
export function nextPrefix(): string {
  return (++runs + 0x10000000).toString(16).slice(-8);
}

/**
 * Several devices' versions of a few commands, preferences and devices, in two independent random
 * orders (`order` and `other`): the same set of versions arriving differently.
 */
export function historyArb(
  opts: HistoryOptions,
): fc.Arbitrary<{ versions: RemoteRecord[]; order: RemoteRecord[]; other: RemoteRecord[] }> {
  const versionsOf = <T>(arb: fc.Arbitrary<T>) => fc.array(arb, { minLength: 1, maxLength: 5 });
  const ids = [1, 2].map((n) => `${PLACEHOLDER}-0000-4000-8000-00000000000${n}`);
  const commands = ids.map((id) =>
    opts.honest
      ? originArb().chain((origin) => versionsOf(commandArb(id, fc.constant(origin))))
      : versionsOf(commandArb(id)),
  );
  const preferences = ["theme", "editor"].map((k) => versionsOf(preferenceArb(`${PLACEHOLDER}.${k}`)));
  const devices = ["x", "y"].map((d) => versionsOf(deviceArb(`${PLACEHOLDER}-${d}`)));
  return fc
    .tuple(...commands, ...preferences, ...devices)
    .map((lists) => lists.flat() as RemoteRecord[])
    .chain((versions) =>
      fc.record({
        versions: fc.constant(versions),
        order: fc.shuffledSubarray(versions, { minLength: versions.length }),
        other: fc.shuffledSubarray(versions, { minLength: versions.length }),
      }),
    );
}

/** The final record of every key: the fold of all its versions with the one join. */
export function expectedState(versions: readonly RemoteRecord[]): Map<string, RemoteRecord> {
  const out = new Map<string, RemoteRecord>();
  for (const v of versions) {
    const key = keyString(recordKey(v));
    const prev = out.get(key);
    out.set(key, prev ? joinRecords(prev, v) : normalize(v));
  }
  return out;
}

/**
 * The cache path: the versions applied in `order`, in batches of random sizes (`cuts`), as
 * records from the relay (`local: false`) or as local changes. Returns the stored records of the
 * keys involved, and how many local changes were refused.
 */
export function throughCache(
  cache: SqliteCache,
  history: readonly RemoteRecord[],
  opts: { local: boolean; cuts: readonly number[]; now: number },
): { state: Map<string, RemoteRecord>; refused: number } {
  const prefix = nextPrefix();
  const order = history.map((r) => rekey(r, prefix));
  let refused = 0;
  const bounds = [...new Set([0, ...opts.cuts.filter((c) => c < order.length), order.length])];
  bounds.sort((a, b) => a - b);
  for (let b = 1; b < bounds.length; b++) {
    const changes = order.slice(bounds[b - 1], bounds[b]).map((record) => ({ label: "", record }));
    refused += applyChanges(cache, changes, { now: opts.now, enqueue: opts.local }).conflicts.length;
  }
  const state = new Map<string, RemoteRecord>();
  for (const v of order) {
    const stored = cache.entries.get(recordKey(v));
    if (stored) state.set(keyString(recordKey(v)), normalize(stored.record));
  }
  return { state: unkey(state), refused };
}

/**
 * The Jazz path over synthetic CoValue contents: each version is written by one of `sessions`
 * sessions, in `order`. Commands become feed items read session by session (as FeedCursor does);
 * preferences become edits of their key in the preferences map; devices become one transaction
 * of seven edits on one of two copies of the device's CoMap, with a random transaction time, so
 * that cojson's own LWW order says nothing about lastSeen.
 */
export function throughJazzReducers(
  order: readonly RemoteRecord[],
  layout: { sessionOf: readonly number[]; copyOf: readonly number[]; madeAt: readonly number[] },
): Map<string, RemoteRecord> {
  const feed = new Map<number, CommandRecord[]>();
  const prefEdits = new Map<string, MapEdit[]>();
  const copies = new Map<string, Map<string, MapEdit[]>>();
  const txCount = new Map<number, number>();
  order.forEach((record, i) => {
    const session = layout.sessionOf[i % layout.sessionOf.length] ?? 0;
    const madeAt = layout.madeAt[i % layout.madeAt.length] ?? 0;
    const txIndex = txCount.get(session) ?? 0;
    txCount.set(session, txIndex + 1);
    const edit = (value: MapEdit["value"]): MapEdit => ({
      value,
      deleted: false,
      madeAt,
      sessionID: `session-${session}`,
      txIndex,
    });
    if (record.type === "command") {
      feed.set(session, [...(feed.get(session) ?? []), record]);
    } else if (record.type === "preference") {
      const { encrypted, updatedAt, deviceId } = record;
      const edits = prefEdits.get(record.key) ?? [];
      // A deleted key and a malformed value in between: readers must skip both.
      edits.push(edit(JSON.stringify({ encrypted, updatedAt, deviceId })), {
        ...edit(undefined),
        deleted: true,
      });
      edits.push(edit("{not json"));
      prefEdits.set(record.key, edits);
    } else {
      const copy = `${record.deviceId}#${layout.copyOf[i % layout.copyOf.length] ?? 0}`;
      const map = copies.get(copy) ?? new Map<string, MapEdit[]>();
      const { type: _type, ...fields } = record;
      for (const [key, value] of Object.entries(fields)) map.set(key, [...(map.get(key) ?? []), edit(value)]);
      copies.set(copy, map);
    }
  });
  const out = new Map<string, RemoteRecord>();
  const byId = new Map<string, CommandRecord>();
  for (const items of feed.values()) for (const item of items) mergeInto(byId, item);
  for (const record of byId.values()) out.set(keyString(recordKey(record)), record);
  for (const [key, edits] of prefEdits) {
    const record = foldPreferenceEdits(key, edits);
    if (record) out.set(keyString(recordKey(record)), record);
  }
  // As mergedDevices does: each copy folded, the copies of one device joined.
  for (const edits of copies.values()) {
    const record = foldDeviceEdits(edits);
    if (!record) continue;
    const key = keyString(recordKey(record));
    const prev = out.get(key);
    out.set(key, prev?.type === "device" ? joinDevice(prev, record) : record);
  }
  return out;
}

export const layoutArb = fc.record({
  sessionOf: fc.array(at(0, 2), { minLength: 1, maxLength: 8 }),
  copyOf: fc.array(at(0, 1), { minLength: 1, maxLength: 8 }),
  madeAt: fc.array(at(0, 5), { minLength: 1, maxLength: 8 }),
});

/** Where a history is cut into separately committed batches. */
export const cutsArb = fc.array(at(1, 30), { maxLength: 4 });

/** Both maps as plain objects keyed the same way, for deepEqual with a readable diff. */
export function asObject(state: ReadonlyMap<string, RemoteRecord>): Record<string, RemoteRecord> {
  return Object.fromEntries([...state].sort(([a], [b]) => (a < b ? -1 : 1)));
}
