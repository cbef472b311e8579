// The user's data as the reference client sees it: pulled from the daemon's cache and decrypted
// here with the keys from the phrase. The daemon only ever holds the encrypted blobs.
import { randomUUID } from "node:crypto";
import type { SyncClient } from "../client/SyncClient.js";
import {
  BlobError,
  decryptCommand,
  decryptPreference,
  encryptCommand,
  encryptPreference,
} from "../client/crypto/index.js";
import type { SyncKeys } from "../client/crypto/index.js";
import { RpcError } from "../client/errors.js";
import { PULL_LIMIT_MAX, type EntryType, type PulledEntry } from "../protocol.js";

/** One line of `history --json` (docs/cli.md): a decrypted command, or one that did not decrypt. */
export type HistoryRecord = {
  id: string;
  deviceId: string;
  createdAt: number;
  safetyLevel: string;
  executed: boolean;
  success?: boolean;
  executedAt?: number;
  deletedAt?: number;
  /** Page on with `history --before <cursor>` (newest first: the next page is older). */
  cursor: string;
} & (
  | { prompt: string; command: string; explanation?: string; tags?: string[] }
  | { undecryptable: true; error: string }
);

export interface PreferenceRecord {
  key: string;
  /** null when the value does not decrypt (`error` says why). */
  value: string | null;
  error?: string;
  deviceId: string;
  updatedAt: number;
}

/** Every entry of these types in the daemon's cache (full pull, paged), latest version of each. */
export async function pullAll(
  client: SyncClient,
  types: EntryType[],
  onPage?: (count: number) => void,
): Promise<PulledEntry[]> {
  const byId = new Map<string, PulledEntry>();
  let since: number | null = null;
  for (;;) {
    const page = await client.pull({ since, limit: PULL_LIMIT_MAX, types });
    for (const e of page.entries) byId.set(`${e.type}:${e.id}`, e);
    onPage?.(byId.size);
    if (!page.hasMore || page.entries.length === 0) break;
    since = page.nextCursor;
  }
  return [...byId.values()];
}

/** Never throws: an entry that does not decrypt is reported as such, never shown as garbage. */
export function decryptHistoryEntry(keys: Pick<SyncKeys, "commandKey">, e: PulledEntry): HistoryRecord {
  const m = e.metadata;
  const base = {
    id: e.id,
    deviceId: m.deviceId,
    createdAt: m.createdAt,
    safetyLevel: m.safetyLevel ?? "safe",
    executed: m.executed === true,
    ...(m.success === undefined ? {} : { success: m.success }),
    ...(m.executedAt === undefined ? {} : { executedAt: m.executedAt }),
    ...(m.deletedAt === undefined ? {} : { deletedAt: m.deletedAt }),
    cursor: historyCursor(m.createdAt, e.id),
  };
  try {
    return { ...decryptCommand(keys, e.encrypted), ...base };
  } catch (err) {
    return { ...base, undecryptable: true, error: reasonOf(err) };
  }
}

export function decryptPreferenceEntry(
  keys: Pick<SyncKeys, "preferenceKey">,
  e: PulledEntry,
): PreferenceRecord {
  const base = { key: e.id, deviceId: e.metadata.deviceId, updatedAt: e.metadata.updatedAt };
  try {
    return { ...base, value: decryptPreference(keys, e.encrypted) };
  } catch (err) {
    return { ...base, value: null, error: reasonOf(err) };
  }
}

/** Newest first: createdAt, then id, descending. The cursor orders the same way. */
export function newestFirst(
  a: { createdAt: number; id: string },
  b: { createdAt: number; id: string },
): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

export function historyCursor(createdAt: number, id: string): string {
  return `${createdAt}.${id}`;
}

/** Parses a cursor from `history --json`; null when malformed. */
export function parseHistoryCursor(cursor: string): { createdAt: number; id: string } | null {
  const m = /^(\d+)\.(.+)$/.exec(cursor);
  return m ? { createdAt: Number(m[1]), id: m[2]! } : null;
}

/** This device's ID, as the daemon knows it (entries carry it). */
export async function ownDeviceId(client: SyncClient): Promise<string> {
  const { deviceId } = await client.status();
  if (deviceId === null) throw new Error("the daemon reports no device ID");
  return deviceId;
}

/** Pushes one entry; a refused entry is thrown as the daemon's error for it. */
export async function pushOne(client: SyncClient, entry: object): Promise<void> {
  const result = await client.push({ entries: [entry] });
  const failure = result.errors[0];
  if (failure) throw new RpcError("sync.push", { code: failure.code, message: failure.message });
}

export function commandEntry(
  keys: Pick<SyncKeys, "commandKey">,
  deviceId: string,
  p: { prompt: string; command: string; explanation?: string; tags?: string[]; safetyLevel: string },
  now = Date.now(),
) {
  const { safetyLevel, ...plaintext } = p;
  return {
    id: randomUUID(),
    type: "command" as const,
    encrypted: encryptCommand(keys, plaintext),
    metadata: { deviceId, createdAt: now, safetyLevel },
  };
}

export function preferenceEntry(
  keys: Pick<SyncKeys, "preferenceKey">,
  deviceId: string,
  key: string,
  value: string,
  now = Date.now(),
) {
  return {
    id: key,
    type: "preference" as const,
    encrypted: encryptPreference(keys, value),
    metadata: { deviceId, updatedAt: now },
  };
}

function reasonOf(err: unknown): string {
  return err instanceof BlobError ? err.reason : "malformed";
}
