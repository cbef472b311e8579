// Per-entry validation of sync.push (docs/protocol.md): one bad entry fails alone, with its own code.
// Order of checks: shape (-32602), size (-32006), blob format (-32007), metadata and id (-32602).
import {
  commandMetadataSchema,
  ErrorCode,
  MAX_ENTRY_BASE64,
  preferenceMetadataSchema,
  pushEntrySchema,
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
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** `index` names an entry whose id is unusable ("#3"), so its error can still be reported. */
export function validatePushEntry(raw: unknown, index: number): ValidatedEntry {
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
  if (!STRICT_BASE64.test(b64)) return "encrypted is not valid base64";
  const padding = b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0;
  const bytes = (b64.length / 4) * 3 - padding;
  if (bytes < MIN_BLOB_BYTES) return `encrypted blob is ${bytes} bytes, at least ${MIN_BLOB_BYTES} expected`;
  const version = Buffer.from(b64.slice(0, 4), "base64")[0];
  if (version !== BLOB_VERSION) return `encrypted blob has version byte ${String(version)}, expected 1`;
  return null;
}

function describeIssue(issue: { path: PropertyKey[]; message: string } | undefined, prefix?: string): string {
  if (!issue) return "invalid entry";
  const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
}

function invalid(id: string, code: ErrorCode, message: string): ValidatedEntry {
  return { ok: false, id, code, message };
}
