// The five-method SQLite driver cojson's storage engine (`getSqliteStorage`) needs, over
// better-sqlite3. cojson ships the engine but no Node driver. Used by the daemon's Jazz node and by
// the self-hosted relay.
//
// Storage faults (a full disk, a read-only file, an I/O error). cojson stores local changes from a
// microtask (LocalTransactionsSyncQueue → SyncManager.syncContent → storage.store) with no catch:
// a write that throws there is an uncaught exception, which ends the daemon (measured: a full disk
// under Jazz's storage killed it with exit 70 on the first push). Given a WriteHealth, the driver
// therefore records a storage fault of a write and does not throw it: the failed statement or
// transaction is rolled back (nothing half-written), cojson goes on from memory and the relay, and
// daemon.health reports the fault until a later write succeeds. Inside a transaction a failing
// statement still throws, so the transaction stops and rolls back as a whole. What cojson missed
// storing it stores again with its next change of that CoValue (its session row in SQLite is
// behind, which makes cojson send the missing part) or loads it from the relay after a restart.
// Without a WriteHealth (the relay: carrying on would acknowledge content it did not store) every
// error is thrown as before.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { getSqliteStorage, type SQLiteDatabaseDriver, type StorageAPI } from "cojson";
import type { WriteHealth } from "../fs/writeHealth.js";
import { pageCachePragma } from "../runtime/sqliteMemory.js";
import { StorageFaultError } from "../sync/storageFault.js";

type Statement = ReturnType<Database.Database["prepare"]>;

export interface DriverOptions {
  synchronous?: "NORMAL" | "FULL";
  /** Record storage faults of writes here instead of throwing them (the daemon's node). */
  health?: WriteHealth;
  /** SQLite's page cache of the connection, in KiB (runtime/sqliteMemory.ts); else the build's. */
  pageCacheKiB?: number;
}

export class BetterSqliteDriver implements SQLiteDatabaseDriver {
  private readonly db: Database.Database;
  // cojson issues the same few statements over and over: prepare each once.
  private readonly statements = new Map<string, Statement>();
  private depth = 0;
  private detachProbe: (() => void) | undefined;
  /** Faults are swallowed only once open: a failed migration must fail the open. */
  private opened = false;

  constructor(
    path: string,
    private readonly opts: DriverOptions = {},
  ) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.db = new Database(path);
    try {
      this.db.pragma("journal_mode = WAL");
      this.db.pragma(`synchronous = ${opts.synchronous ?? "NORMAL"}`);
      if (opts.pageCacheKiB !== undefined) this.db.pragma(pageCachePragma(opts.pageCacheKiB));
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  /**
   * From now on storage faults of writes are recorded, not thrown (when there is a WriteHealth),
   * and the health's probe may write through this connection (only once a write has failed).
   */
  markOpen(): void {
    this.opened = true;
    const health = this.opts.health;
    this.detachProbe = health?.attachProbe(() => {
      if (health.fault) this.probeWrite();
    });
  }

  run(sql: string, params: unknown[]): void {
    const stmt = this.prepare(sql);
    this.write(() => stmt.run(bindable(params)), undefined);
  }

  get<T>(sql: string, params: unknown[]): T | undefined {
    const stmt = this.prepare(sql);
    if (!stmt.reader) {
      this.write(() => stmt.run(bindable(params)), undefined);
      return undefined;
    }
    if (stmt.readonly) return stmt.get(bindable(params)) as T | undefined;
    // INSERT … RETURNING: a write that answers.
    return this.write(() => stmt.get(bindable(params)) as T | undefined, undefined);
  }

  query<T>(sql: string, params: unknown[]): T[] {
    const stmt = this.prepare(sql);
    if (!stmt.reader) {
      this.write(() => stmt.run(bindable(params)), undefined);
      return [];
    }
    if (stmt.readonly) return stmt.all(bindable(params)) as T[];
    return this.write(() => stmt.all(bindable(params)) as T[], []);
  }

  transaction(callback: () => unknown): void {
    this.write(() => {
      this.depth++;
      try {
        this.db.transaction(callback)();
      } finally {
        this.depth--;
      }
    }, undefined);
  }

  /** A write that changes nothing (the schema version, rewritten); throws what the disk says. */
  probeWrite(): void {
    const version = Number(this.db.pragma("user_version", { simple: true }));
    this.db.pragma(`user_version = ${Number.isInteger(version) ? version : 0}`);
  }

  closeDb(): void {
    this.detachProbe?.();
    this.statements.clear();
    if (this.db.open) this.db.close();
  }

  /**
   * One write outside any transaction goes through the WriteHealth: a storage fault is recorded and
   * `fallback` returned. Inside a transaction, before the open completed, or without a WriteHealth,
   * errors are thrown.
   */
  private write<T>(fn: () => T, fallback: T): T {
    const health = this.opts.health;
    if (!health || this.depth > 0) return fn();
    try {
      return health.guard(fn);
    } catch (err) {
      if (this.opened && err instanceof StorageFaultError) return fallback;
      throw err;
    }
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

/**
 * Opens (creating if needed) a cojson SQLite storage at `path`, with its driver for direct reads.
 * With `health`, a storage fault while opening is thrown as a StorageFaultError, and later ones
 * are recorded there (see the top of this file); the health's probe writes through this driver
 * until it is closed.
 */
export function openJazzStorage(
  path: string,
  opts: DriverOptions = {},
): { storage: StorageAPI; driver: BetterSqliteDriver } {
  let driver: BetterSqliteDriver | null = null;
  try {
    driver = new BetterSqliteDriver(path, opts);
    const storage = getSqliteStorage(driver);
    driver.markOpen();
    return { storage, driver };
  } catch (err) {
    driver?.closeDb();
    throw opts.health?.failed(err) ?? err;
  }
}
