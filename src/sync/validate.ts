// Per-entry validation of sync.push (docs/protocol.md): one bad entry fails alone, with its own code.
// Order of checks: shape (-32602), size (-32006), blob format (-32007), metadata and id (-32602).
import {
  commandMetadataSchema,
  ErrorCode,
  MAX_ENTRY_BASE64,
  preferenceMetadataSchema,
  pushEntrySchema,
  SAFETY_LEVELS,
} from "../protocol.js";
import { commandRecord, preferenceRecord } from "./records.js";
import type { RemoteRecord } from "./remote.js";

export type ValidatedEntry =
  | { ok: true; id: string; record: RemoteRecord }
  | { ok: false; id: string; code: ErrorCode; message: string };

/** Blob format of docs/encryption.md: version byte 0x01 | 12-byte nonce | ciphertext | 16-byte tag. */
export const BLOB_VERSION = 0x01;
export const MIN_BLOB_BYTES = 29;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `index` names an entry whose id is unusable ("#3"), so its error can still be reported. */
export function validatePushEntry(raw: unknown, index: number): ValidatedEntry {
  return validCommand(raw) ?? checkPushEntry(raw, index);
}

/**
 * The usual entry, a valid command, told without zod (whose per-entry cost showed in a push of
 * 1,000): the same checks as checkPushEntry, each in its plain-JavaScript form. Undefined for
 * anything else, valid or not: checkPushEntry then decides, and names what is wrong. It accepts only
 * what checkPushEntry accepts, with the same record (test/sync/validate.test.ts holds them to that).
 */
function validCommand(raw: unknown): ValidatedEntry | undefined {
  if (!isObject(raw) || raw.type !== "command") return undefined;
  const { id, encrypted, metadata: m } = raw;
  if (typeof id !== "string" || id.length > 256 || !UUID.test(id)) return undefined;
  if (typeof encrypted !== "string" || encrypted.length > MAX_ENTRY_BASE64 || checkBlob(encrypted) !== null)
    return undefined;
  if (!isObject(m)) return undefined;
  const { deviceId, createdAt, safetyLevel, executed, success, executedAt, deletedAt } = m;
  if (typeof deviceId !== "string" || deviceId.length < 1 || deviceId.length > 200) return undefined;
  if (!(SAFETY_LEVELS as readonly unknown[]).includes(safetyLevel)) return undefined;
  if (!isMs(createdAt) || !optional(executedAt, isMs) || !optional(deletedAt, isMs)) return undefined;
  if (!optional(executed, isBoolean) || !optional(success, isBoolean)) return undefined;
  return {
    ok: true,
    id,
    record: commandRecord({
      id: id.toLowerCase(),
      deviceId,
      encryptedPayload: encrypted,
      safetyLevel: safetyLevel as (typeof SAFETY_LEVELS)[number],
      executed: executed ?? false,
      success,
      createdAt,
      executedAt,
      deletedAt,
    }),
  };
}

/**
 * Every check in order, with zod for the shapes, so a bad entry is told exactly what is wrong: the
 * reference validatePushEntry answers as.
 */
export function checkPushEntry(raw: unknown, index: number): ValidatedEntry {
  const shape = pushEntrySchema.safeParse(raw);
  const rawId = (raw as { id?: unknown } | null)?.id;
  const label = typeof rawId === "string" && rawId.length > 0 ? rawId : `#${index}`;
  if (!shape.success) return invalid(label, ErrorCode.InvalidParams, describeIssue(shape.error.issues[0]));
  const entry = shape.data;

  if (entry.encrypted.length > MAX_ENTRY_BASE64)
    return invalid(
      label,
      ErrorCode.PayloadTooLarge,
      `encrypted exceeds ${MAX_ENTRY_BASE64} base64 characters`,
    );
  const blobProblem = checkBlob(entry.encrypted);
  if (blobProblem) return invalid(label, ErrorCode.EncryptionError, blobProblem);

  if (entry.type === "command") {
    if (!UUID.test(entry.id))
      return invalid(label, ErrorCode.InvalidParams, "id: a command id must be a UUID");
    const meta = commandMetadataSchema.safeParse(entry.metadata);
    if (!meta.success)
      return invalid(label, ErrorCode.InvalidParams, describeIssue(meta.error.issues[0], "metadata"));
    const m = meta.data;
    // UUIDs are case-insensitive; one spelling keeps re-pushes idempotent.
    const id = entry.id.toLowerCase();
    return {
      ok: true,
      id: label,
      record: commandRecord({
        id,
        deviceId: m.deviceId,
        encryptedPayload: entry.encrypted,
        safetyLevel: m.safetyLevel,
        executed: m.executed ?? false,
        success: m.success,
        createdAt: m.createdAt,
        executedAt: m.executedAt,
        deletedAt: m.deletedAt,
      }),
    };
  }
  const meta = preferenceMetadataSchema.safeParse(entry.metadata);
  if (!meta.success)
    return invalid(label, ErrorCode.InvalidParams, describeIssue(meta.error.issues[0], "metadata"));
  return {
    ok: true,
    id: label,
    record: preferenceRecord({
      key: entry.id,
      deviceId: meta.data.deviceId,
      encrypted: entry.encrypted,
      updatedAt: meta.data.updatedAt,
    }),
  };
}

/** Why `b64` is not a well-formed blob, or null. Decodes only the first bytes. */
export function checkBlob(b64: string): string | null {
  if (!isStrictBase64(b64)) return "encrypted is not valid base64";
  const padding = b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0;
  const bytes = (b64.length / 4) * 3 - padding;
  if (bytes < MIN_BLOB_BYTES) return `encrypted blob is ${bytes} bytes, at least ${MIN_BLOB_BYTES} expected`;
  const version = Buffer.from(b64.slice(0, 4), "base64")[0];
  if (version !== BLOB_VERSION) return `encrypted blob has version byte ${String(version)}, expected 1`;
  return null;
}

/** 1 at the char code of each character of the base64 alphabet (A–Z, a–z, 0–9, +, /). */
const BASE64_ALPHABET = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
  BASE64_ALPHABET[c.charCodeAt(0)] = 1;
const PAD = 0x3d; // "="

/**
 * Padded base64 (RFC 4648 §4): whole groups of four alphabet characters, the last of which may end
 * in "=" or "==". What /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/ says, in
 * one pass over the characters (that RegExp cost more than the rest of the blob check).
 */
export function isStrictBase64(s: string): boolean {
  const n = s.length;
  if (n % 4 !== 0) return false;
  let end = n;
  if (n > 0 && s.charCodeAt(n - 1) === PAD) end = s.charCodeAt(n - 2) === PAD ? n - 2 : n - 1;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || BASE64_ALPHABET[c] === 0) return false;
  }
  return true;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A `ms` of the protocol's schemas: a non-negative safe integer. */
function isMs(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isBoolean(value: unknown): value is boolean {
  return typeof value === "boolean";
}

function optional<T>(value: unknown, check: (v: unknown) => v is T): value is T | undefined {
  return value === undefined || check(value);
}

function describeIssue(issue: { path: PropertyKey[]; message: string } | undefined, prefix?: string): string {
  if (!issue) return "invalid entry";
  const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
}

function invalid(id: string, code: ErrorCode, message: string): ValidatedEntry {
  return { ok: false, id, code, message };
}
