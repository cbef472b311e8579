// The file side of `caro-sync repair`: check a cache read-only, take it over from the daemon (the
// cache lock, lock.ts), move it aside, salvage its queued entries (salvage.ts) and leave a fresh
// cache in its place. Nothing here deletes or writes to the damaged file.
import Database from "better-sqlite3";
import { closeSync, existsSync, fsyncSync, openSync, renameSync } from "node:fs";
import { dirname } from "node:path";
import { findDamage, openDatabase } from "./db.js";
import { LAST_CURSOR_KEY } from "./entryStore.js";
import { CacheLockedError, lockCacheFile, type CacheLock } from "./lock.js";
import { salvageQueued, writeSalvageFile, type SalvageResult } from "./salvage.js";

export { CacheLockedError } from "./lock.js";

export interface MovedAside {
  database: string;
  wal: string | null;
  shm: string | null;
}

/**
 * `PRAGMA quick_check` on the cache, opened read-only (a running daemon may hold it: WAL lets a
 * reader in). Null when sound, else what is wrong. Throws when it cannot even look (busy, absent).
 */
export function checkCacheFile(path: string): string | null {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return findDamage(db, "full");
  } finally {
    db.close();
  }
}

/** Takes the cache lock, waiting while a daemon that is shutting down still holds it. */
export async function waitForCacheLock(path: string, timeoutMs: number): Promise<CacheLock> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return lockCacheFile(path);
    } catch (err) {
      if (!(err instanceof CacheLockedError) || Date.now() >= deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface SetAsideResult {
  moved: MovedAside;
  salvage: SalvageResult;
  salvageFile: string;
}

/**
 * With the cache lock held: moves the cache aside, salvages its queued entries into a file beside
 * it, and creates the fresh cache carrying the old cursor high-water mark over, so the rebuilt
 * entries' cursors stay above any a client saw before, whatever the clock says.
 */
export function setAsideAndSalvage(path: string, now: Date): SetAsideResult {
  const moved = moveAside(path, now);
  const salvage = salvageQueued(moved.database);
  const salvageFile = writeSalvageFile(salvage, now);
  const db = openDatabase(path);
  try {
    if (salvage.cursorHighWater !== null)
      db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)").run(
        LAST_CURSOR_KEY,
        String(salvage.cursorHighWater),
      );
  } finally {
    db.close();
  }
  return { moved, salvage, salvageFile };
}

/**
 * Renames the cache and its -wal/-shm to `<path>.corrupt-<timestamp>` (+ `-wal`, `-shm`, the
 * names SQLite pairs them by, so the copy still reads with its WAL). The WAL moves first: a fresh
 * database must never meet the old WAL under its name, for SQLite would replay it into it.
 */
export function moveAside(path: string, now: Date): MovedAside {
  const stamp = now.toISOString().replace(/[:.]/g, "-");
  let base = `${path}.corrupt-${stamp}`;
  for (let n = 2; [base, `${base}-wal`, `${base}-shm`].some((p) => existsSync(p)); n++)
    base = `${path}.corrupt-${stamp}-${n}`;
  const move = (from: string, to: string): string | null => {
    if (!existsSync(from)) return null;
    renameSync(from, to);
    return to;
  };
  const wal = move(`${path}-wal`, `${base}-wal`);
  const shm = move(`${path}-shm`, `${base}-shm`);
  renameSync(path, base);
  syncDirectory(dirname(path));
  return { database: base, wal, shm };
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
