// Other TypeScript clients import the encryption from the client library's entry point, as they
// import SyncClient: the vector's blob opens through it alone.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decryptCommand, encryptCommand, purposeKeys } from "../../../src/client/index.js";
import { unhex, vectors as v } from "./vectors.js";

describe("the client library's entry point", () => {
  it("exports the encryption: the vector's command blob is reproduced and opened", () => {
    const keys = purposeKeys(unhex(v.masterKeyHex));
    assert.equal(encryptCommand(keys, v.command.plaintext, unhex(v.command.nonceHex)), v.command.blobBase64);
    assert.deepEqual(decryptCommand(keys, v.command.blobBase64), v.command.plaintext);
  });
});
