// Applies records to the cache with the merge rules (merge.ts, shared with the Jazz side), in one
// transaction: local changes (pushes, deletes, device updates), which are queued for the relay, and
// records from the relay, which are not.
import type { Logger } from "../log/logger.js";
import type { EntryKey, LocalCache, StoredEntry } from "./localCache.js";
import { mergeRecord, type MergeSource } from "./merge.js";
import { keyString, recordKey } from "./records.js";
import type { RemoteRecord } from "./remote.js";

export interface Change {
  /** How the caller names this change in errors (the pushed id). */
  label: string;
  record: RemoteRecord;
}

export interface ApplyResult {
  /** Changes accepted, whether or not they changed anything (a losing preference write is accepted). */
  accepted: { label: string; key: EntryKey }[];
  /** Local changes contradicting an immutable field of the stored entry (none from the relay). */
  conflicts: { label: string; message: string }[];
  /** Entries that got a new version (and cursor). */
  changed: number;
  lastCursor: number | null;
}

/**
 * Merges each change into the cache under a fresh cursor when it changes something (an entry
 * changed more than once in one call is written once, with the merge of its changes). `enqueue`
 * marks local changes: every changed entry is queued for the relay in the same transaction (so an
 * accepted change is never stored without its queue row), and one that contradicts a command's
 * `encrypted`/`createdAt` is refused (`conflicts`). Without it the changes are records from the
 * relay: never queued, never refused (merge.ts resolves them the same way on every device).
 * Durable when it returns.
 */
export function applyChanges(
  cache: LocalCache,
  changes: readonly Change[],
  opts: { now: number; enqueue: boolean; logger?: Logger },
): ApplyResult {
  const result: ApplyResult = { accepted: [], conflicts: [], changed: 0, lastCursor: null };
  const source: MergeSource = opts.enqueue ? "local" : "relay";
  cache.transaction(() => {
    const keys = changes.map((c) => recordKey(c.record));
    const stored = cache.entries.getMany(keys);
    // The new version of each key changed so far, in the order of its last change: a key changed
    // twice in one batch is merged with its first change and written once.
    const written = new Map<string, { key: EntryKey; record: RemoteRecord }>();
    changes.forEach(({ label, record }, i) => {
      const key = keys[i]!;
      const k = keyString(key);
      const pending = written.get(k);
      const base = pending ? pending.record : stored[i] && withPayloadIfEvicted(stored[i], record, source);
      const outcome = mergeRecord(base, record, source);
      if (outcome.kind === "conflict") {
        result.conflicts.push({ label, message: outcome.message });
        opts.logger?.warn(
          { type: key.type, id: key.id, reason: outcome.message },
          "record conflicts with the cache",
        );
        return;
      }
      result.accepted.push({ label, key });
      if (outcome.kind === "unchanged") return;
      written.delete(k);
      written.set(k, { key, record: outcome.record });
    });
    if (written.size === 0) return;
    const versions = [...written.values()];
    const cursors = cache.entries.putMany(
      versions.map((v) => v.record),
      opts.now,
    );
    if (opts.enqueue)
      cache.queue.enqueueMany(
        versions.map((v, i) => ({ ...v.key, cursor: cursors[i]! })),
        opts.now,
      );
    result.changed = versions.length;
    result.lastCursor = cursors[cursors.length - 1]!;
  });
  return result;
}

/**
 * An evicted command lost only its payload, which never changes: the incoming record supplies it,
 * so the merge sees a change only when the metadata changed (then the full entry comes back). A
 * record from the relay with another origin (createdAt, deviceId, safetyLevel) does not: the row's
 * empty payload then loses the origin to the incoming version (merge.ts compareOrigins), so the
 * entry comes back whole as that version rather than as a mix of two.
 */
function withPayloadIfEvicted(
  stored: StoredEntry,
  incoming: RemoteRecord,
  source: MergeSource,
): RemoteRecord {
  const record = stored.record;
  if (!stored.evicted || record.type !== "command" || incoming.type !== "command") return record;
  const sameOrigin =
    record.createdAt === incoming.createdAt &&
    record.deviceId === incoming.deviceId &&
    record.safetyLevel === incoming.safetyLevel;
  if (source === "relay" && !sameOrigin) return record;
  return { ...record, encryptedPayload: incoming.encryptedPayload };
}
