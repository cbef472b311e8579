// Every vector in vectors.json recomputed by implementations that share no code with ours
// (independent.ts says which). Skipped when a tool is absent; with CI set, an absent tool fails.
import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { describe, it } from "node:test";
import { KEY_INFO } from "../../../src/client/crypto/index.js";
import {
  argon2Cli,
  argon2Lib,
  gcmSealByHand,
  opensslHkdf,
  opensslSha256,
  requireTool,
} from "./independent.js";
import { hex, unhex, vectors as v } from "./vectors.js";

describe("vectors against independent implementations", () => {
  it("the salt is SHA-256 of the phrase, per openssl", (t) => {
    if (!requireTool(t, "openssl")) return;
    assert.equal(hex(opensslSha256(v.phrase).subarray(0, 16)), v.saltHex);
    assert.equal(hex(opensslSha256(v.shortPhrase.phrase).subarray(0, 16)), v.shortPhrase.saltHex);
  });

  it("the master key is Argon2id per libargon2, Debian's reference implementation", (t) => {
    if (!requireTool(t, "libargon2")) return;
    assert.equal(hex(argon2Lib(v.phrase, unhex(v.saltHex), v.argon2id)), v.masterKeyHex);
    assert.equal(
      hex(argon2Lib(v.shortPhrase.phrase, unhex(v.shortPhrase.saltHex), v.argon2id)),
      v.shortPhrase.masterKeyHex,
    );
  });

  it("the master key of a phrase short enough for it matches Debian's argon2 command", (t) => {
    if (!requireTool(t, "argon2")) return;
    const salt = unhex(v.shortPhrase.saltHex);
    assert.equal(hex(argon2Cli(v.shortPhrase.phrase, salt, v.argon2id)), v.shortPhrase.masterKeyHex);
  });

  it("the purpose keys are HKDF-SHA256 per `openssl kdf`", (t) => {
    if (!requireTool(t, "openssl")) return;
    for (const [name, { info, hex: expected }] of Object.entries(v.keys)) {
      assert.equal(info, KEY_INFO[name as keyof typeof KEY_INFO], `${name} info string`);
      assert.equal(hex(opensslHkdf(unhex(v.masterKeyHex), info, 32)), expected, name);
    }
    assert.equal(Buffer.from(unhex(v.keys.authKey.hex)).toString("base64"), v.authKeyBase64);
  });

  it("GCM composed from openssl's AES blocks reproduces NIST GCM test case 15 (AES-256, no AAD)", (t) => {
    if (!requireTool(t, "openssl")) return;
    // McGrew & Viega, "The Galois/Counter Mode of Operation", test case 15.
    const key = unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
    const nonce = unhex("cafebabefacedbaddecaf888");
    const plaintext = unhex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
    );
    const expected =
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" +
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad" +
      "b094dac5d93471bdec1a502270e3cc6c";
    assert.equal(gcmSealByHand(key, nonce, plaintext).toString("hex"), expected);
  });

  it("the command and preference blobs match GCM composed from openssl's AES blocks", (t) => {
    if (!requireTool(t, "openssl")) return;
    const cases = [
      {
        key: v.keys.commandKey.hex,
        nonce: v.command.nonceHex,
        text: v.command.plaintextJson,
        blob: v.command,
      },
      {
        key: v.keys.preferenceKey.hex,
        nonce: v.preference.nonceHex,
        text: v.preference.plaintext,
        blob: v.preference,
      },
    ];
    for (const c of cases) {
      const sealed = gcmSealByHand(unhex(c.key), unhex(c.nonce), Buffer.from(c.text, "utf8"));
      const blob = Buffer.concat([Buffer.from([0x01]), unhex(c.nonce), sealed]);
      assert.equal(blob.toString("hex"), c.blob.blobHex);
      assert.equal(blob.toString("base64"), c.blob.blobBase64);
    }
  });

  it("WebCrypto's AES-GCM opens both blobs to their plaintexts", async () => {
    const open = async (keyHex: string, blobHex: string) => {
      const blob = unhex(blobHex);
      const key = await webcrypto.subtle.importKey("raw", unhex(keyHex), "AES-GCM", false, ["decrypt"]);
      const iv = blob.subarray(1, 13);
      const plain = await webcrypto.subtle.decrypt(
        { name: "AES-GCM", iv, tagLength: 128 },
        key,
        blob.subarray(13),
      );
      return new TextDecoder().decode(plain);
    };
    assert.equal(await open(v.keys.commandKey.hex, v.command.blobHex), v.command.plaintextJson);
    assert.deepEqual(JSON.parse(v.command.plaintextJson), v.command.plaintext);
    assert.equal(await open(v.keys.preferenceKey.hex, v.preference.blobHex), v.preference.plaintext);
  });
});
