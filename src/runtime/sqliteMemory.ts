// SQLite's page cache for each of the daemon's database connections (its cache, Jazz's storage).
// better-sqlite3 is built with a 16 MiB default (SQLITE_DEFAULT_CACHE_SIZE=-16000), which a daemon
// fills by syncing ~10,000 entries and then holds for its whole life: at 10,000 entries 10–13 MiB
// of each daemon's RSS (docs/performance.md, "SQLite's page cache"). 2 MiB is SQLite's own default and enough:
// one push batch or one Jazz transaction fits, and a page that misses is read back from the
// system's file cache. The relay keeps better-sqlite3's default.
export const DAEMON_PAGE_CACHE_KIB = 2000;

/** The pragma that bounds a connection's page cache to `kib` KiB. */
export const pageCachePragma = (kib: number): string => `cache_size = -${kib}`;
