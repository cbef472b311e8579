// The five-method SQLite driver cojson's storage engine (`getSqliteStorage`) needs, over
// better-sqlite3. cojson ships the engine but no Node driver. Used by the daemon's Jazz node and by
// the self-hosted relay.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { getSqliteStorage, type SQLiteDatabaseDriver, type StorageAPI } from "cojson";

type Statement = ReturnType<Database.Database["prepare"]>;

export class BetterSqliteDriver implements SQLiteDatabaseDriver {
  private readonly db: Database.Database;
  // cojson issues the same few statements over and over: prepare each once.
  private readonly statements = new Map<string, Statement>();

  constructor(path: string, opts: { synchronous?: "NORMAL" | "FULL" } = {}) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma(`synchronous = ${opts.synchronous ?? "NORMAL"}`);
  }

  run(sql: string, params: unknown[]): void {
    this.prepare(sql).run(bindable(params));
  }

  get<T>(sql: string, params: unknown[]): T | undefined {
    const stmt = this.prepare(sql);
    if (!stmt.reader) {
      stmt.run(bindable(params));
      return undefined;
    }
    return stmt.get(bindable(params)) as T | undefined;
  }

  query<T>(sql: string, params: unknown[]): T[] {
    const stmt = this.prepare(sql);
    if (!stmt.reader) {
      stmt.run(bindable(params));
      return [];
    }
    return stmt.all(bindable(params)) as T[];
  }

  transaction(callback: () => unknown): void {
    this.db.transaction(callback)();
  }

  closeDb(): void {
    this.statements.clear();
    if (this.db.open) this.db.close();
  }

  private prepare(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      // Schema changes (migrations) invalidate nothing we keep: PRAGMAs and DDL are not cached.
      if (!/^\s*(PRAGMA|CREATE|ALTER|DROP)/i.test(sql)) this.statements.set(sql, stmt);
    }
    return stmt;
  }
}

// better-sqlite3 binds only numbers, strings, bigints, buffers and null.
function bindable(params: unknown[]): unknown[] {
  return params.map((p) => (p === undefined ? null : typeof p === "boolean" ? (p ? 1 : 0) : p));
}

/** Opens (creating if needed) a cojson SQLite storage at `path`, with its driver for direct reads. */
export function openJazzStorage(
  path: string,
  opts: { synchronous?: "NORMAL" | "FULL" } = {},
): { storage: StorageAPI; driver: BetterSqliteDriver } {
  const driver = new BetterSqliteDriver(path, opts);
  try {
    return { storage: getSqliteStorage(driver), driver };
  } catch (err) {
    driver.closeDb();
    throw err;
  }
}
