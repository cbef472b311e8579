// Opens the cache file: parent directory 0700, file 0600, WAL, synchronous=FULL, checked, migrated.
//
// Durability: in WAL mode with synchronous=FULL every commit fsyncs the WAL before it returns, so
// a push acknowledged after its transaction committed survives kill -9 and power loss.
// (synchronous=NORMAL would only survive a process crash, not power loss: not enough for an
// acknowledgement that promises "stored".)
//
// Integrity: a damaged file is refused at open (CacheCorruptError) rather than served until a
// query trips over the damage. `PRAGMA quick_check` costs ~0.5–0.75 s on a 100,000-entry cache
// (80 MB), too slow for every start, so each open walks every b-tree instead (~60 ms there) and
// reads the queued entries, the one part that exists nowhere else; the full quick_check runs
// only after an unclean shutdown (a WAL left with frames in it) or to describe damage found.
import Database from "better-sqlite3";
import { closeSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { migrate } from "./migrations.js";
import { DAEMON_PAGE_CACHE_KIB, pageCachePragma } from "../runtime/sqliteMemory.js";

export type Db = Database.Database;

/**
 * Runs one write to the cache file and records its outcome (fs/writeHealth.ts): every write of the
 * stores goes through it, so a storage fault is remembered and thrown as a StorageFaultError.
 */
export type GuardWrite = <T>(write: () => T) => T;

/** Exit code of a daemon refusing a damaged cache (sysexits.h EX_DATAERR). */
export const EX_DATAERR = 65;

/** The cache file is damaged; `caro-sync repair` is the way out. */
export class CacheCorruptError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `cache ${path} is damaged (${detail}); the daemon will not start on it. ` +
        "Run `caro-sync repair`: it moves the file aside (it is never deleted), keeps the entries " +
        "not yet uploaded, and rebuilds the cache from Jazz's local storage and the relay",
      options,
    );
    this.name = "CacheCorruptError";
  }
}

/** SQLite saying the file is damaged or not a database at all (better-sqlite3's err.code). */
export function isCorruptionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_CORRUPT") || code.startsWith("SQLITE_NOTADB"));
}

export function openDatabase(path: string): Db {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // Create the file ourselves so it is private from the first byte; SQLite gives the WAL and shm
  // files the same mode as the database file.
  closeSync(openSync(path, "a", 0o600));
  // Looked at before SQLite opens the file: a clean close checkpoints and removes the WAL.
  const unclean = walHasFrames(path);
  const db = new Database(path);
  try {
    const mode = db.pragma("journal_mode = WAL", { simple: true });
    if (mode !== "wal") throw new Error(`cache ${path}: cannot enable WAL (journal_mode is ${String(mode)})`);
    db.pragma("synchronous = FULL");
    db.pragma("busy_timeout = 5000");
    db.pragma(pageCachePragma(DAEMON_PAGE_CACHE_KIB));
    const damage = findDamage(db, unclean ? "full" : "cheap");
    if (damage !== null) throw new CacheCorruptError(path, damage);
    migrate(db, path);
    return db;
  } catch (err) {
    db.close();
    if (isCorruptionError(err)) throw new CacheCorruptError(path, describe(err), { cause: err });
    throw err;
  }
}

/**
 * Looks for damage in an open database: null when none is found, else a short description.
 * "cheap" walks every page of every table and index and reads the queued entries whole (SQLite
 * checks each page as it loads it, and cell_size_check makes that check cover every cell);
 * "full" is `PRAGMA quick_check`. Errors other than corruption (a busy file, say) are thrown.
 */
export function findDamage(db: Db, level: "cheap" | "full"): string | null {
  try {
    if (level === "cheap") walkBtrees(db);
    else {
      const problems = quickCheck(db);
      if (problems.length > 0) return problems.join("; ");
    }
    return null;
  } catch (err) {
    if (!isCorruptionError(err)) throw err;
    if (level === "full") return describe(err);
    // The cheap walk only says "malformed"; quick_check says where, when it can run at all.
    try {
      const problems = quickCheck(db);
      if (problems.length > 0) return problems.join("; ");
    } catch {
      // Too damaged to check: the walk's own error is all there is.
    }
    return describe(err);
  }
}

/** quick_check's findings, at most three (it lists one row per problem); [] when "ok". */
function quickCheck(db: Db): string[] {
  const rows = db.pragma("quick_check(4)", { simple: false }) as { quick_check: string }[];
  return rows
    .flatMap((r) => r.quick_check.split("\n"))
    .filter((line) => line !== "ok" && !line.startsWith("*** in database"))
    .slice(0, 3);
}

function walkBtrees(db: Db): void {
  db.pragma("cell_size_check = ON");
  try {
    const schema = db
      .prepare<[], { type: string; name: string; tbl: string }>(
        "SELECT type, name, tbl_name AS tbl FROM sqlite_schema WHERE type IN ('table', 'index')",
      )
      .all();
    for (const { type, name, tbl } of schema) {
      if (type === "table") {
        // count(*) on the table itself visits every page of its b-tree (OP_Count).
        db.prepare(`SELECT count(*) FROM ${quote(name)} NOT INDEXED`)
          .pluck()
          .get();
        continue;
      }
      const first = db
        .prepare<[], { name: string | null }>(`PRAGMA index_info(${quote(name)})`)
        .all()[0]?.name;
      // An expression index has no column to name; the table walk and quick_check still cover it.
      if (!first) continue;
      db.prepare(`SELECT count(${quote(first)}) FROM ${quote(tbl)} INDEXED BY ${quote(name)}`)
        .pluck()
        .get();
    }
    const tables = new Set(schema.filter((s) => s.type === "table").map((s) => s.name));
    if (tables.has("queue") && tables.has("entries")) {
      // Entries not yet uploaded exist only here: read each whole, not just its page.
      db.prepare(
        "SELECT sum(length(e.record)) FROM queue q LEFT JOIN entries e ON e.type = q.type AND e.id = q.id",
      )
        .pluck()
        .get();
    }
  } finally {
    db.pragma("cell_size_check = OFF");
  }
}

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? `${message}, ${code}` : message;
}

function walHasFrames(path: string): boolean {
  try {
    return statSync(`${path}-wal`).size > 0;
  } catch {
    return false;
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
