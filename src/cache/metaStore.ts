// Small key/value table for sync metadata (cursor high-water mark, paused flag, last sync time).
import type { MetaStore } from "../sync/localCache.js";
import type { Db, GuardWrite } from "./db.js";

export class SqliteMetaStore implements MetaStore {
  private readonly getStmt;
  private readonly setStmt;
  private readonly deleteStmt;

  constructor(
    db: Db,
    private readonly write: GuardWrite,
  ) {
    this.getStmt = db.prepare<[string], { value: string }>("SELECT value FROM meta WHERE key = ?");
    this.setStmt = db.prepare<[string, string]>(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    );
    this.deleteStmt = db.prepare<[string]>("DELETE FROM meta WHERE key = ?");
  }

  get(key: string): string | undefined {
    return this.getStmt.get(key)?.value;
  }

  set(key: string, value: string): void {
    this.write(() => this.setStmt.run(key, value));
  }

  delete(key: string): void {
    this.write(() => this.deleteStmt.run(key));
  }
}
