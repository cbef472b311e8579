// The key schedule: phrase → Argon2id master key → one HKDF-SHA256 key per purpose.
// Changing any constant here makes every existing account unreadable: they are part of the
// format (docs/encryption.md), shared with the Rust CLI, and pinned by test/client/crypto/vectors.json.
import { createHash, hkdfSync } from "node:crypto";
import { argon2id } from "hash-wasm";
import { normalizePhrase } from "./phrase.js";

export const KEY_BYTES = 32;
export const SALT_BYTES = 16;

/** Argon2id cost: 64 MiB, 3 passes, 4 lanes (~0.45 s on 2 cores with hash-wasm). */
export const ARGON2_PARAMS = Object.freeze({ memoryKiB: 64 * 1024, iterations: 3, parallelism: 4 });

/** HKDF `info` strings, one per purpose key. */
export const KEY_INFO = Object.freeze({
  commandKey: "caro-sync-command-v1",
  preferenceKey: "caro-sync-preference-v1",
  authKey: "caro-sync-jazz-auth-v1",
  deviceKey: "caro-sync-device-v1",
});

/** The four 32-byte keys a client derives from the phrase and keeps (it never keeps the phrase). */
export interface SyncKeys {
  /** AES-256-GCM key of command history entries. */
  commandKey: Uint8Array;
  /** AES-256-GCM key of preference values. */
  preferenceKey: Uint8Array;
  /** Sent (base64) as `authKey` of `sync.init`; the daemon derives the Jazz account from it. */
  authKey: Uint8Array;
  /** Reserved for device-list records. */
  deviceKey: Uint8Array;
}

/**
 * SHA-256 of the UTF-8 bytes of `phrase`, first 16 bytes. Hashes the string exactly as given:
 * pass the normalized phrase (deriveMasterKey does).
 */
export function phraseSalt(phrase: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(phrase, "utf8").digest().subarray(0, SALT_BYTES));
}

/**
 * Argon2id(password = normalized phrase, salt = phraseSalt(normalized phrase), ARGON2_PARAMS,
 * 32 bytes). Throws PhraseError for a phrase normalizePhrase refuses.
 */
export async function deriveMasterKey(phrase: string): Promise<Uint8Array> {
  const normalized = normalizePhrase(phrase);
  return argon2id({
    password: normalized,
    salt: phraseSalt(normalized),
    memorySize: ARGON2_PARAMS.memoryKiB,
    iterations: ARGON2_PARAMS.iterations,
    parallelism: ARGON2_PARAMS.parallelism,
    hashLength: KEY_BYTES,
    outputType: "binary",
  });
}

/** HKDF-SHA256(IKM = master, salt = empty, info = KEY_INFO[purpose], 32 bytes) for each purpose. */
export function purposeKeys(master: Uint8Array): SyncKeys {
  if (master.length !== KEY_BYTES) throw new RangeError(`master key must be ${KEY_BYTES} bytes`);
  const expand = (info: string) =>
    new Uint8Array(hkdfSync("sha256", master, new Uint8Array(0), info, KEY_BYTES));
  return {
    commandKey: expand(KEY_INFO.commandKey),
    preferenceKey: expand(KEY_INFO.preferenceKey),
    authKey: expand(KEY_INFO.authKey),
    deviceKey: expand(KEY_INFO.deviceKey),
  };
}

/** normalizePhrase + deriveMasterKey + purposeKeys. The master key is wiped once expanded. */
export async function deriveKeys(phrase: string): Promise<SyncKeys> {
  const master = await deriveMasterKey(phrase);
  try {
    return purposeKeys(master);
  } finally {
    master.fill(0);
  }
}
