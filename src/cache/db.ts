// Opens the cache file: parent directory 0700, file 0600, WAL, synchronous=FULL, migrated.
//
// Durability: in WAL mode with synchronous=FULL every commit fsyncs the WAL before it returns, so
// a push acknowledged after its transaction committed survives kill -9 and power loss.
// (synchronous=NORMAL would only survive a process crash, not power loss: not enough for an
// acknowledgement that promises "stored".)
import Database from "better-sqlite3";
import { closeSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { migrate } from "./migrations.js";

export type Db = Database.Database;

export function openDatabase(path: string): Db {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // Create the file ourselves so it is private from the first byte; SQLite gives the WAL and shm
  // files the same mode as the database file.
  closeSync(openSync(path, "a", 0o600));
  const db = new Database(path);
  try {
    const mode = db.pragma("journal_mode = WAL", { simple: true });
    if (mode !== "wal") throw new Error(`cache ${path}: cannot enable WAL (journal_mode is ${String(mode)})`);
    db.pragma("synchronous = FULL");
    db.pragma("busy_timeout = 5000");
    migrate(db, path);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Size of the database file plus its WAL, in bytes (0 for a missing file). */
export function fileSizeBytes(path: string): number {
  let total = 0;
  for (const p of [path, `${path}-wal`]) {
    try {
      total += statSync(p).size;
    } catch {
      // A missing WAL (after a checkpoint on close) is normal.
    }
  }
  return total;
}
