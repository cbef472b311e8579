// What `caro-sync repair` keeps of a damaged cache before the daemon rebuilds it. Entries the relay
// has confirmed come back from Jazz's local storage and the relay; the queued ones (the `queue`
// table joined to `entries`) exist nowhere else, so they are read out of the damaged file, row by
// row, tolerating every error, into a JSON file beside it. setAside.ts moves the damaged file aside
// first; here it is only ever opened read-only.
import Database from "better-sqlite3";
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";
import { z } from "zod";
import type { EntryType } from "../protocol.js";
import { recordKey, remoteRecordSchema } from "../sync/records.js";
import type { RemoteRecord } from "../sync/remote.js";
import { LAST_CURSOR_KEY } from "./entryStore.js";

export interface Unreadable {
  type: string;
  id: string;
  reason: string;
}

export interface SalvageResult {
  /** The damaged copy that was read. */
  source: string;
  /** Queued changes read whole and valid: what repair pushes again. */
  records: RemoteRecord[];
  /** Queued changes whose row in `entries` could not be read or is not a valid record. */
  unreadable: Unreadable[];
  /** Queue rows an index vouches for whose table row could not be read: lost, ids unknown. */
  lostQueueRows: number;
  /** Parts of the queue could not be read and no intact index tells what was there. */
  queueIncomplete: boolean;
  /** Highest cursor the damaged cache handed out, as far as it can be read. */
  cursorHighWater: number | null;
  /** The distinct errors met (at most ten). */
  errors: string[];
}

const SALVAGE_FILE_VERSION = 1;
const MAX_ERRORS = 10;

/** Reads the queued changes out of a damaged cache file, opened read-only. Never throws. */
export function salvageQueued(source: string): SalvageResult {
  const result: SalvageResult = {
    source,
    records: [],
    unreadable: [],
    lostQueueRows: 0,
    queueIncomplete: false,
    cursorHighWater: null,
    errors: [],
  };
  const errors = new Set<string>();
  const note = (err: unknown) => {
    if (errors.size < MAX_ERRORS) errors.add(err instanceof Error ? err.message : String(err));
  };
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      note(err);
      return undefined;
    }
  };
  let db: Database.Database | undefined;
  try {
    db = attempt(() => new Database(source, { readonly: true, fileMustExist: true }));
    if (!db) result.queueIncomplete = true;
    else {
      const keys = queuedKeys(db, { attempt, note }, result);
      readRecords(db, keys, { attempt, note }, result);
      result.cursorHighWater = highWater(db, attempt);
    }
  } finally {
    attempt(() => db?.close());
  }
  result.errors = [...errors];
  return result;
}

interface Tolerant {
  /** Runs fn; on an error, notes it and answers undefined. */
  attempt: <T>(fn: () => T) => T | undefined;
  note: (err: unknown) => void;
}
type Key = { type: EntryType; id: string };

/**
 * The queue's (type, id) pairs. A scan in seq order reads up to the first damaged page; past it,
 * each seq up to the highest ever handed out is looked up alone, so one damaged page costs only
 * its own rows. For a seq that fails, the queue's two indexes say whether a row was there (and the
 * unique one, which row).
 */
function queuedKeys(
  db: Database.Database,
  { attempt, note }: Tolerant,
  result: SalvageResult,
): Map<number, Key> {
  const rows = new Map<number, Key>();
  const scanned = attempt(() => {
    const scan = db.prepare<[], { seq: number } & Key>("SELECT seq, type, id FROM queue ORDER BY seq");
    for (const row of scan.iterate()) rows.set(row.seq, { type: row.type, id: row.id });
    return true;
  });
  if (scanned) return rows;

  const maxSeq =
    attempt(
      () => db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'queue'").pluck().get() as number,
    ) ?? attempt(() => db.prepare("SELECT max(seq) FROM queue").pluck().get() as number | null);
  if (typeof maxSeq !== "number") {
    result.queueIncomplete = true;
    return rows;
  }
  const one = attempt(() => db.prepare<[number], Key>("SELECT type, id FROM queue WHERE seq = ?"));
  const damaged: number[] = [];
  let start = 1;
  for (const seq of rows.keys()) start = Math.max(start, seq + 1);
  for (let seq = start; seq <= maxSeq; seq++) {
    try {
      const row = one?.get(seq);
      if (!one) damaged.push(seq);
      else if (row) rows.set(seq, row);
    } catch (err) {
      note(err);
      damaged.push(seq);
    }
  }
  if (damaged.length === 0) return rows;

  const byKey = new Map<number, Key>();
  const keyIndexComplete = attempt(() => {
    const stmt = db.prepare<[], { seq: number } & Key>(
      "SELECT seq, type, id FROM queue INDEXED BY sqlite_autoindex_queue_1",
    );
    for (const row of stmt.iterate()) byKey.set(row.seq, { type: row.type, id: row.id });
    return true;
  });
  const present = new Set<number>();
  const ageIndexComplete = attempt(() => {
    const stmt = db.prepare<[], number>("SELECT seq FROM queue INDEXED BY queue_by_age").pluck();
    for (const seq of stmt.iterate()) present.add(seq);
    return true;
  });
  for (const seq of damaged) {
    const key = byKey.get(seq);
    if (key) rows.set(seq, key);
    else if (present.has(seq)) result.lostQueueRows++;
    // A seq neither index lists was confirmed and deleted, if the index is whole.
    else if (!keyIndexComplete && !ageIndexComplete) result.queueIncomplete = true;
  }
  return rows;
}

/** Each queued key's record, by its primary key; what that cannot reach, by one table scan. */
function readRecords(
  db: Database.Database,
  keys: Map<number, Key>,
  { attempt, note }: Tolerant,
  result: SalvageResult,
): void {
  const byKey = attempt(() =>
    db.prepare<[string, string], string>("SELECT record FROM entries WHERE type = ? AND id = ?").pluck(),
  );
  const missing = new Map<string, Key & { reason: string }>();
  const seen = new Set<string>();
  for (const key of keys.values()) {
    const k = `${key.type}\u0000${key.id}`;
    if (seen.has(k)) continue;
    seen.add(k);
    let json: string | undefined;
    try {
      json = byKey?.get(key.type, key.id);
    } catch (err) {
      note(err);
      missing.set(k, { ...key, reason: err instanceof Error ? err.message : String(err) });
      continue;
    }
    if (json === undefined) {
      missing.set(k, {
        ...key,
        reason: byKey ? "it has no row in entries" : "the entries table cannot be read",
      });
      continue;
    }
    accept(key, json, result);
  }
  if (missing.size === 0) return;
  // The primary-key index may be what is damaged: the table itself may still hold the rows.
  attempt(() => {
    const scan = db.prepare<[], Key & { record: string }>("SELECT type, id, record FROM entries NOT INDEXED");
    for (const row of scan.iterate()) {
      const k = `${row.type}\u0000${row.id}`;
      if (!missing.has(k)) continue;
      missing.delete(k);
      accept(row, row.record, result);
    }
  });
  for (const { type, id, reason } of missing.values()) result.unreadable.push({ type, id, reason });
}

function accept(key: Key, json: string, result: SalvageResult): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    result.unreadable.push({ ...key, reason: "its record is not valid JSON" });
    return;
  }
  const record = remoteRecordSchema.safeParse(parsed);
  const same =
    record.success && recordKey(record.data).type === key.type && recordKey(record.data).id === key.id;
  if (record.success && same) result.records.push(record.data);
  else result.unreadable.push({ ...key, reason: "its record is not a valid entry" });
}

function highWater(db: Database.Database, attempt: Tolerant["attempt"]): number | null {
  const values = [
    attempt(() => Number(db.prepare("SELECT value FROM meta WHERE key = ?").pluck().get(LAST_CURSOR_KEY))),
    attempt(() => db.prepare("SELECT max(cursor) FROM entries").pluck().get() as number | null),
    attempt(() => db.prepare("SELECT max(cursor) FROM queue").pluck().get() as number | null),
  ].filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  return values.length > 0 ? Math.max(...values) : null;
}

const salvageFileSchema = z.object({
  version: z.literal(SALVAGE_FILE_VERSION),
  records: z.array(z.unknown()),
});

/** Writes the salvage as `<damaged copy>.salvage.json`, 0600, never over an existing file. */
export function writeSalvageFile(result: SalvageResult, now: Date): string {
  const path = `${result.source}.salvage.json`;
  const doc = {
    version: SALVAGE_FILE_VERSION,
    source: result.source,
    salvagedAt: now.toISOString(),
    records: result.records,
    unreadable: result.unreadable,
    lostQueueRows: result.lostQueueRows,
    queueIncomplete: result.queueIncomplete,
    cursorHighWater: result.cursorHighWater,
    errors: result.errors,
  };
  const fd = openSync(path, "wx", 0o600);
  try {
    writeSync(fd, JSON.stringify(doc, null, 1) + "\n");
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return path;
}

/**
 * The records of a salvage file (`repair --from`), each checked as a record from the relay would
 * be. Throws when the file is not a salvage file; `invalid` counts the records that fail the check.
 */
export function readSalvageFile(path: string): { records: RemoteRecord[]; invalid: number } {
  const doc = salvageFileSchema.parse(JSON.parse(readFileSync(path, "utf8")));
  const records: RemoteRecord[] = [];
  let invalid = 0;
  for (const raw of doc.records) {
    const parsed = remoteRecordSchema.safeParse(raw);
    if (parsed.success) records.push(parsed.data);
    else invalid++;
  }
  return { records, invalid };
}
