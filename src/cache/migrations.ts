// Versioned schema of the cache file. The version lives in SQLite's `PRAGMA user_version` (part of
// the database header, so it commits or rolls back with the migration's transaction). Each
// migration runs in its own transaction: a crash leaves the file at the previous version, never
// half-migrated. Migrations are append-only: never edit one that has shipped, add the next.
import type Database from "better-sqlite3";

export interface Migration {
  version: number;
  description: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "entries keyed by (type, id) with their arrival cursor, offline queue, meta",
    up(db) {
      db.exec(`
        CREATE TABLE entries (
          type TEXT NOT NULL CHECK (type IN ('command', 'preference', 'device')),
          id TEXT NOT NULL,
          cursor INTEGER NOT NULL,
          record TEXT NOT NULL,
          PRIMARY KEY (type, id)
        );
        CREATE UNIQUE INDEX entries_by_cursor ON entries (cursor);
        CREATE TABLE queue (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          type TEXT NOT NULL,
          id TEXT NOT NULL,
          cursor INTEGER NOT NULL,
          enqueued_at INTEGER NOT NULL,
          UNIQUE (type, id)
        );
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      `);
    },
  },
  {
    version: 2,
    description: "record sizes and eviction under cacheMaxSize; queue attempts, last error, TTL status",
    up(db) {
      db.exec(`
        ALTER TABLE entries ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE entries ADD COLUMN evicted INTEGER NOT NULL DEFAULT 0;
        UPDATE entries SET size = length(CAST(record AS BLOB));
        CREATE INDEX entries_evictable ON entries (type, evicted, cursor);
        ALTER TABLE queue ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE queue ADD COLUMN last_error TEXT;
        ALTER TABLE queue ADD COLUMN status TEXT NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'failed'));
        CREATE INDEX queue_by_age ON queue (status, enqueued_at);
      `);
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

export class CacheSchemaError extends Error {
  constructor(
    readonly path: string,
    readonly found: number,
  ) {
    super(
      `cache ${path} has schema version ${found}, newer than this daemon understands (${SCHEMA_VERSION}); ` +
        `upgrade caro-sync or move the file away`,
    );
    this.name = "CacheSchemaError";
  }
}

/** Brings the database to SCHEMA_VERSION, one transaction per migration. Returns the versions applied. */
export function migrate(db: Database.Database, path: string): number[] {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > SCHEMA_VERSION) throw new CacheSchemaError(path, current);
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
    applied.push(m.version);
  }
  return applied;
}
