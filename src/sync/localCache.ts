// The local cache as sync/ sees it: entries with their arrival cursor, the offline queue and a
// small key/value store. cache/ implements it on SQLite; sync/ never imports SQLite.
//
// Every method is synchronous. Writes made inside `transaction(fn)` are committed together and are
// durable (fsynced) when `transaction` returns; a throw inside `fn` rolls all of them back. A write
// the disk refuses (full, read-only, I/O error) throws a StorageFaultError and commits nothing;
// reads keep working.
import type { EntryType } from "../protocol.js";
import type { RemoteRecord } from "./remote.js";
import type { StorageFault } from "./storageFault.js";

export interface EntryKey {
  type: EntryType;
  id: string;
}

export interface StoredEntry extends EntryKey {
  /** Local arrival order: unique, strictly increasing over the life of the cache file. */
  cursor: number;
  record: RemoteRecord;
  /**
   * The payload was dropped to honour cacheMaxSize (the relay has it). The row keeps its metadata
   * so a replayed remote record is recognised as known; evicted rows are never pulled or counted.
   */
  evicted: boolean;
}

export interface EntryStore {
  get(key: EntryKey): StoredEntry | undefined;
  /** get() of each key, in one lookup: the result is aligned with `keys`. */
  getMany(keys: readonly EntryKey[]): (StoredEntry | undefined)[];
  /**
   * Inserts or replaces the entry (clearing `evicted`) under a fresh cursor,
   * max(now, last cursor + 1), persisted so it never goes backwards. Returns the cursor.
   */
  put(record: RemoteRecord, now: number): number;
  /**
   * put() of each record in order, atomically (all or none), with the cursor's high-water mark
   * written once for the whole call. Returns the cursors, aligned with `records` and increasing.
   */
  putMany(records: readonly RemoteRecord[], now: number): number[];
  /** Entries with cursor > since, not evicted, of the given types, by cursor, at most `limit`. */
  page(opts: { since: number; limit: number; types: readonly EntryType[] }): StoredEntry[];
  /** Every non-evicted entry of one type (small types only: devices, preferences). */
  all(type: EntryType): StoredEntry[];
  /** Every command, evicted ones included (their `encryptedPayload` is empty): sync.verify. */
  allCommands(): StoredEntry[];
  countAfter(cursor: number): number;
  /** Non-evicted entries. */
  count(): number;
}

export type QueueStatus = "pending" | "failed";

export interface QueueItem extends EntryKey {
  seq: number;
  /** Cursor of the entry version that must reach the relay. */
  cursor: number;
  enqueuedAt: number;
  attempts: number;
  lastError: string | null;
  status: QueueStatus;
}

export interface QueueStats {
  pending: number;
  failed: number;
  oldestEnqueuedAt: number | null;
}

/**
 * The offline queue: one row per entry with a change the relay has not confirmed. A later change
 * of a queued entry updates its row's cursor and keeps its place and enqueue time.
 */
export interface QueueStore {
  enqueue(key: EntryKey, cursor: number, now: number): void;
  /** enqueue() of each item in order, atomically (all or none). */
  enqueueMany(items: readonly (EntryKey & { cursor: number })[], now: number): void;
  /** Rows in queue order (oldest first) with seq > afterSeq, pending and failed alike. */
  next(limit: number, afterSeq: number): QueueItem[];
  /** Deletes the rows whose cursor still matches (a row changed since it was written stays). */
  confirm(items: readonly (EntryKey & { cursor: number })[]): number;
  recordFailure(seqs: readonly number[], error: string): void;
  has(key: EntryKey): boolean;
  /** Moves pending rows enqueued before `before` to failed; returns how many moved. */
  expire(before: number): number;
  stats(): QueueStats;
  size(): number;
}

export interface MetaStore {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  delete(key: string): void;
}

export interface LocalCache {
  readonly entries: EntryStore;
  readonly queue: QueueStore;
  readonly meta: MetaStore;
  transaction<T>(fn: () => T): T;
  /**
   * Evicts payloads of the oldest confirmed commands (never a queued entry, never a preference or
   * device) while the live data exceeds maxBytes. Returns how many were evicted.
   */
  enforceMaxSize(maxBytes: number): number;
  /** Bytes on disk: the database file plus its WAL. */
  sizeBytes(): number;
  /**
   * Whether the cache can be written now: null when it can, else the fault. Writes a small probe
   * row, and counts a file system with little room left as full (a tiny write can still fit in
   * SQLite's free pages when a real push cannot). A failed write is remembered until one succeeds.
   */
  probeStorage(): StorageFault | null;
  /**
   * Deletes every entry, queue row and meta key and compacts the file, keeping only the cursor
   * high-water mark (so cursors never go back, even across a reset).
   */
  wipe(): void;
  close(): void;
}
