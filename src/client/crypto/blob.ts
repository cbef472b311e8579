// The encrypted blob: 0x01 | nonce (12) | AES-256-GCM ciphertext | tag (16), no associated data.
// The daemon checks only the length and the version byte; the key never leaves the client.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { KEY_BYTES } from "./keys.js";

export const BLOB_VERSION = 0x01;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** Version byte + nonce + tag: a blob is always its plaintext length plus this. */
export const BLOB_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES;

export type BlobErrorReason = "too_short" | "bad_version" | "auth_failed" | "malformed";

/**
 * A blob that cannot be opened. `auth_failed` covers a wrong key and any tampering alike (GCM cannot
 * tell them apart); `malformed` is a blob that is not base64, or decrypts to something that is not
 * the expected plaintext.
 */
export class BlobError extends Error {
  override readonly name = "BlobError";
  constructor(
    readonly reason: BlobErrorReason,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Encrypts `plaintext` under `key` (32 bytes). `nonce` (12 bytes) defaults to fresh random bytes;
 * pass one only for test vectors: reusing a nonce under one key breaks GCM.
 */
export function sealBlob(key: Uint8Array, plaintext: Uint8Array, nonce?: Uint8Array): Uint8Array {
  checkKey(key);
  const iv = nonce ?? randomBytes(NONCE_BYTES);
  if (iv.length !== NONCE_BYTES) throw new RangeError(`nonce must be ${NONCE_BYTES} bytes`);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const blob = new Uint8Array(BLOB_OVERHEAD + plaintext.length);
  blob[0] = BLOB_VERSION;
  blob.set(iv, 1);
  blob.set(body, 1 + NONCE_BYTES);
  blob.set(cipher.getAuthTag(), 1 + NONCE_BYTES + body.length);
  return blob;
}

/** The plaintext of `blob`, authenticated. Throws BlobError; never returns unauthenticated bytes. */
export function openBlob(key: Uint8Array, blob: Uint8Array): Uint8Array {
  checkKey(key);
  if (blob.length < BLOB_OVERHEAD) {
    throw new BlobError(
      "too_short",
      `encrypted blob is ${blob.length} bytes, at least ${BLOB_OVERHEAD} expected`,
    );
  }
  if (blob[0] !== BLOB_VERSION) {
    throw new BlobError(
      "bad_version",
      `encrypted blob has version byte ${blob[0]}, expected ${BLOB_VERSION}`,
    );
  }
  const iv = blob.subarray(1, 1 + NONCE_BYTES);
  const body = blob.subarray(1 + NONCE_BYTES, blob.length - TAG_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
  // update() may hand back bytes before final() has checked the tag: only return after final().
  const head = decipher.update(body);
  try {
    return new Uint8Array(Buffer.concat([head, decipher.final()]));
  } catch {
    head.fill(0);
    throw new BlobError("auth_failed", "encrypted blob failed authentication: wrong key or corrupted data");
  }
}

function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_BYTES) throw new RangeError(`key must be ${KEY_BYTES} bytes`);
}
