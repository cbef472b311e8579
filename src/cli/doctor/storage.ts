// Integrity of the two SQLite files the daemon keeps: its cache and Jazz's own storage. Opened
// read-only, so this works while the daemon holds them (WAL mode lets a reader in beside the writer)
// and can never change them.
import { statSync } from "node:fs";
import Database from "better-sqlite3";
import { bytes } from "../commands/info.js";
import { fail, ok, skip, warn, type Check, type Finding } from "./check.js";
import type { DoctorContext } from "./context.js";

/** How many problems quick_check reports at most (it lists one row per problem). */
const MAX_PROBLEMS = 3;

/** `PRAGMA quick_check` on `path`; a missing file is a skip (nothing was stored there yet). */
export function checkSqliteFile(path: string, what: string, rebuildHint: string): Finding {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return skip(`no ${what} yet (${path})`);
    return fail(`${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const rows = db.pragma(`quick_check(${MAX_PROBLEMS})`, { simple: false }) as { quick_check: string }[];
    const problems = rows.map((r) => r.quick_check).filter((r) => r !== "ok");
    if (problems.length === 0) return ok(`${path}: quick_check ok (${bytes(size)})`);
    return fail(`${path} is damaged: ${problems.join("; ")}`, rebuildHint);
  } catch (err) {
    const code = (err as { code?: string }).code ?? "";
    // Another process holding an exclusive lock is not damage; try again later.
    if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED")
      return warn(`${path} is busy (${code})`, "run `caro-sync doctor` again");
    const message = err instanceof Error ? err.message : String(err);
    return fail(`${path} cannot be checked: ${message}${code ? ` (${code})` : ""}`, rebuildHint);
  } finally {
    db?.close();
  }
}

// Jazz's storage can be rebuilt from the relay; the cache has `repair` (it salvages the queue).
const stopMoveStart = (path: string) => `run \`caro-sync stop\`, move ${path} away, then \`caro-sync start\``;

export const cacheIntegrityCheck: Check<DoctorContext> = {
  name: "cache",
  run: ({ config: { cachePath } }) =>
    checkSqliteFile(
      cachePath,
      "cache",
      "run `caro-sync repair`: it moves the file aside, salvages what was not uploaded yet and rebuilds the rest",
    ),
};

export const jazzStorageIntegrityCheck: Check<DoctorContext> = {
  name: "jazz-storage",
  run: ({ config: { jazzStoragePath } }) =>
    checkSqliteFile(
      jazzStoragePath,
      "Jazz storage",
      `${stopMoveStart(jazzStoragePath)} (Jazz loads the account from the relay again)`,
    ),
};
