// One daemon per cache file. The lock is an exclusive SQLite lock held on a small companion file
// (`<cache>.lock`) for as long as the daemon runs: the operating system releases it when the
// process ends, even by kill -9, so there is no stale lock to judge by pid or age.
import Database from "better-sqlite3";

export class CacheLockedError extends Error {
  constructor(readonly cachePath: string) {
    super(`caro-sync is already running with the cache ${cachePath}`);
    this.name = "CacheLockedError";
  }
}

export interface CacheLock {
  readonly path: string;
  release(): void;
}

/** Takes the lock of `cachePath` at once, or throws CacheLockedError. */
export function lockCacheFile(cachePath: string): CacheLock {
  const path = `${cachePath}.lock`;
  const db = new Database(path, { timeout: 0 });
  try {
    // In exclusive locking mode the lock taken by the first write is kept until the connection
    // closes; with journal_mode OFF no journal file comes and goes beside it.
    db.pragma("journal_mode = OFF");
    db.pragma("locking_mode = EXCLUSIVE");
    db.exec("BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS held (pid INTEGER); COMMIT;");
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === "SQLITE_BUSY") throw new CacheLockedError(cachePath);
    throw err;
  }
  return {
    path,
    release: () => {
      if (db.open) db.close();
    },
  };
}
