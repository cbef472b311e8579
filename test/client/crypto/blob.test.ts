// A blob that is not exactly what was sealed under this key is refused, with a reason, never
// returned as garbage.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BlobError,
  decryptCommand,
  decryptPreference,
  openBlob,
  sealBlob,
  type BlobErrorReason,
} from "../../../src/client/crypto/index.js";
import { unhex, vectors as v } from "./vectors.js";

const commandKey = unhex(v.keys.commandKey.hex);
const keys = { commandKey, preferenceKey: unhex(v.keys.preferenceKey.hex) };
const blob = () => unhex(v.command.blobHex);
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const sealText = (text: string) => b64(sealBlob(commandKey, Buffer.from(text, "utf8")));

function refuses(fn: () => unknown, reason: BlobErrorReason): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BlobError, `expected a BlobError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    return true;
  });
}

function flipBit(bytes: Uint8Array, index: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
}

describe("blob integrity", () => {
  it("refuses a flipped bit in the ciphertext, the tag or the nonce", () => {
    const b = blob();
    refuses(() => openBlob(commandKey, flipBit(b, 13)), "auth_failed");
    refuses(() => openBlob(commandKey, flipBit(b, b.length - 20)), "auth_failed");
    refuses(() => openBlob(commandKey, flipBit(b, b.length - 1)), "auth_failed");
    refuses(() => openBlob(commandKey, flipBit(b, b.length - 16)), "auth_failed");
    refuses(() => openBlob(commandKey, flipBit(b, 1)), "auth_failed");
  });

  it("refuses the right blob under another key", () => {
    refuses(() => openBlob(keys.preferenceKey, blob()), "auth_failed");
    refuses(() => decryptPreference(keys, v.command.blobBase64), "auth_failed");
    refuses(() => decryptCommand({ commandKey: keys.preferenceKey }, v.command.blobBase64), "auth_failed");
  });

  it("refuses a blob shorter than 29 bytes, and one whose tag was cut", () => {
    for (const length of [0, 1, 13, 28])
      refuses(() => openBlob(commandKey, blob().subarray(0, length)), "too_short");
    refuses(() => openBlob(commandKey, blob().subarray(0, blob().length - 1)), "auth_failed");
    refuses(() => openBlob(commandKey, blob().subarray(0, blob().length - 16)), "auth_failed");
    const empty = sealBlob(commandKey, new Uint8Array(0));
    assert.equal(empty.length, 29);
    assert.deepEqual(openBlob(commandKey, empty), new Uint8Array(0));
    refuses(() => openBlob(commandKey, empty.subarray(0, 28)), "too_short");
  });

  it("refuses any version byte other than 0x01", () => {
    for (const version of [0x00, 0x02, 0xff]) {
      const b = blob();
      b[0] = version;
      refuses(() => openBlob(commandKey, b), "bad_version");
    }
  });

  it("refuses a command that decrypts to non-JSON or to the wrong shape", () => {
    refuses(() => decryptCommand(keys, sealText("ls -la")), "malformed");
    refuses(() => decryptCommand(keys, sealText("")), "malformed");
    refuses(() => decryptCommand(keys, sealText('"just a string"')), "malformed");
    refuses(() => decryptCommand(keys, sealText("[]")), "malformed");
    refuses(() => decryptCommand(keys, sealText('{"prompt":"p"}')), "malformed");
    refuses(() => decryptCommand(keys, sealText('{"prompt":"p","command":7}')), "malformed");
    refuses(() => decryptCommand(keys, sealText('{"prompt":"p","command":"c","tags":"x"}')), "malformed");
    refuses(() => decryptCommand(keys, b64(sealBlob(commandKey, Uint8Array.of(0xff, 0xfe)))), "malformed");
  });

  it("names no plaintext in the error for a wrong-shape command", () => {
    const secret = "s3cr3t-token-value";
    assert.throws(
      () => decryptCommand(keys, sealText(JSON.stringify({ prompt: secret, command: 42 }))),
      (err: unknown) =>
        err instanceof BlobError && !err.message.includes(secret) && err.message.includes("command"),
    );
  });

  it("reads a command written by another writer: any key order, null optionals, unknown keys", () => {
    const written = '{"tags":null,"command":"ls","extra":1,"prompt":"p","explanation":null}';
    assert.deepEqual(decryptCommand(keys, sealText(written)), { prompt: "p", command: "ls" });
  });

  it("refuses base64 that is not strict base64", () => {
    refuses(() => decryptCommand(keys, `${v.command.blobBase64}!`), "malformed");
    refuses(() => decryptPreference(keys, v.preference.blobBase64.slice(1)), "malformed");
    refuses(() => decryptPreference(keys, ""), "too_short");
  });

  it("rejects keys and nonces of the wrong length as programming errors, not blob errors", () => {
    assert.throws(() => sealBlob(commandKey.subarray(0, 16), new Uint8Array(1)), RangeError);
    assert.throws(() => sealBlob(commandKey, new Uint8Array(1), new Uint8Array(16)), RangeError);
    assert.throws(() => openBlob(new Uint8Array(31), blob()), RangeError);
  });
});
