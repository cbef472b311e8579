// What main.ts needs from cache/: the local stores SyncManager runs on.
//
// The interfaces these stores implement are not here: they belong to the domain that uses them,
// sync/localCache.ts (LocalCache: entries, queue, meta, transactions) and sync/credentials.ts
// (CredentialStore). Read those for the contracts; this folder is SQLite and a file behind them.
import type { Config } from "../config/schema.js";
import type { CredentialStore } from "../sync/credentials.js";
import type { LocalCache } from "../sync/localCache.js";
import { CredentialsFile } from "./credentialsFile.js";
import { SqliteCache } from "./sqliteCache.js";

export { SqliteCache } from "./sqliteCache.js";
export { CredentialsFile } from "./credentialsFile.js";
export { CacheSchemaError } from "./migrations.js";
export { CacheLockedError } from "./lock.js";

/** Opens the cache at config.cachePath and binds the credentials file at config.credentialsPath. */
export function openLocalStores(config: Pick<Config, "cachePath" | "credentialsPath">): {
  cache: LocalCache;
  credentials: CredentialStore;
} {
  return {
    cache: SqliteCache.open(config.cachePath),
    credentials: new CredentialsFile(config.credentialsPath),
  };
}
