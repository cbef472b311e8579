// Our implementation reproduces every committed vector (vectors.json; see docs/encryption.md).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mnemonicToEntropy } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import {
  ARGON2_PARAMS,
  decryptCommand,
  decryptPreference,
  deriveKeys,
  deriveMasterKey,
  encryptCommand,
  encryptPreference,
  normalizePhrase,
  openBlob,
  phraseSalt,
  purposeKeys,
  sealBlob,
} from "../../../src/client/crypto/index.js";
import { hex, unhex, vectors as v } from "./vectors.js";

describe("test vectors", () => {
  it("the phrase is BIP39's all-zero-entropy phrase and already normal", () => {
    assert.equal(hex(mnemonicToEntropy(v.phrase, wordlist)), v.entropyHex);
    assert.equal(normalizePhrase(v.phrase), v.phrase);
  });

  it("reproduces the salt, the Argon2id parameters and the master key", async () => {
    assert.equal(hex(phraseSalt(v.phrase)), v.saltHex);
    assert.deepEqual({ ...ARGON2_PARAMS, hashLength: 32, version: 0x13 }, v.argon2id);
    // Its cost (budget 1.5 s on 2 cores) is the bench's `keys` row, not a timed test.
    assert.equal(hex(await deriveMasterKey(v.phrase)), v.masterKeyHex);
    assert.equal(hex(phraseSalt(v.shortPhrase.phrase)), v.shortPhrase.saltHex);
    assert.equal(hex(await deriveMasterKey(v.shortPhrase.phrase)), v.shortPhrase.masterKeyHex);
  });

  it("reproduces the four purpose keys and the authKey base64", async () => {
    const fromMaster = purposeKeys(unhex(v.masterKeyHex));
    const fromPhrase = await deriveKeys(`  ${v.phrase.toUpperCase().replaceAll(" ", " \t\n")}  `);
    for (const keys of [fromMaster, fromPhrase]) {
      assert.equal(hex(keys.commandKey), v.keys.commandKey.hex);
      assert.equal(hex(keys.preferenceKey), v.keys.preferenceKey.hex);
      assert.equal(hex(keys.authKey), v.keys.authKey.hex);
      assert.equal(hex(keys.deviceKey), v.keys.deviceKey.hex);
      assert.equal(Buffer.from(keys.authKey).toString("base64"), v.authKeyBase64);
    }
  });

  it("reproduces the command blob and decrypts it back", () => {
    const keys = { commandKey: unhex(v.keys.commandKey.hex) };
    const b64 = encryptCommand(keys, v.command.plaintext, unhex(v.command.nonceHex));
    assert.equal(b64, v.command.blobBase64);
    assert.equal(hex(Buffer.from(b64, "base64")), v.command.blobHex);
    const plain = openBlob(keys.commandKey, unhex(v.command.blobHex));
    assert.equal(Buffer.from(plain).toString("utf8"), v.command.plaintextJson);
    assert.deepEqual(decryptCommand(keys, v.command.blobBase64), v.command.plaintext);
  });

  it("reproduces the preference blob and decrypts it back", () => {
    const keys = { preferenceKey: unhex(v.keys.preferenceKey.hex) };
    const b64 = encryptPreference(keys, v.preference.plaintext, unhex(v.preference.nonceHex));
    assert.equal(b64, v.preference.blobBase64);
    assert.equal(hex(Buffer.from(b64, "base64")), v.preference.blobHex);
    assert.equal(decryptPreference(keys, v.preference.blobBase64), v.preference.plaintext);
  });

  it("a blob is its plaintext plus 29 bytes, with a fresh random nonce by default", () => {
    const key = unhex(v.keys.commandKey.hex);
    const plaintext = new TextEncoder().encode(v.command.plaintextJson);
    const [a, b] = [sealBlob(key, plaintext), sealBlob(key, plaintext)];
    assert.equal(a.length, plaintext.length + 29);
    assert.notDeepEqual(a.subarray(1, 13), b.subarray(1, 13));
    assert.deepEqual(openBlob(key, a), plaintext);
    assert.deepEqual(openBlob(key, b), plaintext);
  });
});
