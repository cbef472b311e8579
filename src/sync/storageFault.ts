// Storage faults: a write to the daemon's local storage (the cache, Jazz's SQLite storage, the
// credentials file) that failed because of the disk, not because of a bug. The one place that
// classifies them by code: better-sqlite3's `err.code` (the SQLite extended result code) and the
// errno code of Node's fs errors. sync/failures.ts maps a fault to -32008 for the wire; the stores
// remember their last fault (fs/writeHealth.ts) for daemon.health.

/** The `data.reason` keys of -32008 Storage Unavailable (docs/protocol.md). */
export type StorageFaultReason = "disk_full" | "read_only" | "io_error";

/** Which local store failed: the daemon's cache, or Jazz's own SQLite storage beside it. */
export type StorageName = "cache" | "jazz";

export interface StorageFault {
  store: StorageName;
  reason: StorageFaultReason;
  /** When the fault was first seen (Unix ms); a later failure of the same kind keeps it. */
  at: number;
}

/** A store refused a write because of a storage fault; `cause` is the original error (for the log). */
export class StorageFaultError extends Error {
  constructor(
    readonly fault: StorageFault,
    options?: { cause?: unknown },
  ) {
    super(describeStorageFault(fault), options);
    this.name = "StorageFaultError";
  }
}

const STORE_TEXT: Record<StorageName, string> = { cache: "the cache", jazz: "Jazz's local storage" };
const REASON_TEXT: Record<StorageFaultReason, string> = {
  disk_full: "the disk is full",
  read_only: "the file system or the file is read-only",
  io_error: "the disk reported an I/O error",
};

/**
 * A fixed sentence per store and reason (no path, no OS text): safe for the wire and the log.
 * Without a store (a raw fs error) it speaks of the daemon's storage.
 */
export function describeStorageFault(fault: {
  store?: StorageName | undefined;
  reason: StorageFaultReason;
}): string {
  const store = fault.store === undefined ? "the daemon's storage" : STORE_TEXT[fault.store];
  return `${store} cannot be written: ${REASON_TEXT[fault.reason]}`;
}

const BY_CODE: Record<string, StorageFaultReason> = {
  SQLITE_FULL: "disk_full",
  ENOSPC: "disk_full",
  EDQUOT: "disk_full",
  SQLITE_READONLY: "read_only",
  EROFS: "read_only",
  SQLITE_IOERR: "io_error",
  SQLITE_CANTOPEN: "io_error",
  EIO: "io_error",
};

/**
 * The fault a thrown value stands for, or null when it is not a storage fault (a constraint, a
 * corrupt file, a bug). SQLite's extended codes refine a primary one (SQLITE_READONLY_DBMOVED,
 * SQLITE_IOERR_FSYNC, SQLITE_IOERR_NOSPC is still a full disk); a StorageFaultError says itself.
 */
export function storageFaultReason(err: unknown): StorageFaultReason | null {
  if (err instanceof StorageFaultError) return err.fault.reason;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return null;
  if (code === "SQLITE_IOERR_NOSPC") return "disk_full";
  return BY_CODE[code] ?? BY_CODE[code.replace(/^(SQLITE_[A-Z]+)_.*$/, "$1")] ?? null;
}
