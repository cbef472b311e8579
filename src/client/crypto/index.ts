// Client-side encryption (docs/encryption.md): the recovery phrase, the key schedule, the blob
// format, the command and preference plaintexts, and the keys file. The daemon never imports this.
export {
  PHRASE_WORDS,
  PhraseError,
  generatePhrase,
  normalizePhrase,
  type PhraseErrorReason,
} from "./phrase.js";
export {
  ARGON2_PARAMS,
  KEY_BYTES,
  KEY_INFO,
  SALT_BYTES,
  deriveKeys,
  deriveMasterKey,
  phraseSalt,
  purposeKeys,
  type SyncKeys,
} from "./keys.js";
export {
  BLOB_OVERHEAD,
  BLOB_VERSION,
  BlobError,
  NONCE_BYTES,
  TAG_BYTES,
  openBlob,
  sealBlob,
  type BlobErrorReason,
} from "./blob.js";
export {
  decryptCommand,
  decryptPreference,
  encryptCommand,
  encryptPreference,
  type CommandPlaintext,
} from "./payloads.js";
export {
  KeysFile,
  KeysFileError,
  defaultKeysPath,
  type KeysFileErrorReason,
  type StoredKeys,
} from "./keysFile.js";
