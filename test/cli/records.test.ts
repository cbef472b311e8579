// The reference client's view of pulled entries (src/cli/records.ts): a history entry that does
// not decrypt (another account's key, a damaged or truncated blob, not base64, the wrong version)
// is reported as undecryptable with a reason, never thrown and never shown as garbage.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { encryptCommand, purposeKeys } from "../../src/client/crypto/index.js";
import { decryptHistoryEntry } from "../../src/cli/records.js";
import type { PulledEntry } from "../../src/protocol.js";

const keys = purposeKeys(new Uint8Array(randomBytes(32)));
const otherKeys = purposeKeys(new Uint8Array(randomBytes(32)));
const plaintext = { prompt: "list files", command: "ls -la" };

function entry(encrypted: string): PulledEntry {
  const now = 1_700_000_000_000;
  return {
    id: randomUUID(),
    type: "command",
    encrypted,
    metadata: { deviceId: "device-a", createdAt: now, updatedAt: now, safetyLevel: "safe", executed: false },
  };
}

describe("history entries that do not decrypt", () => {
  it("a good entry decrypts to its prompt and command", () => {
    const r = decryptHistoryEntry(keys, entry(encryptCommand(keys, plaintext)));
    assert.ok(!("undecryptable" in r));
    assert.equal(r.prompt, plaintext.prompt);
    assert.equal(r.command, plaintext.command);
  });

  it("another key, a flipped byte, a truncated blob, not base64, another version: undecryptable, with a reason", () => {
    const good = Buffer.from(encryptCommand(keys, plaintext), "base64");
    const flipped = Buffer.from(good);
    flipped[flipped.length - 1]! ^= 1;
    const otherVersion = Buffer.from(good);
    otherVersion[0] = 0x7f;
    const blobs = {
      "another key": encryptCommand(otherKeys, plaintext),
      "a flipped byte": flipped.toString("base64"),
      truncated: good.subarray(0, 10).toString("base64"),
      "not base64": "%%% not base64 %%%",
      "another version": otherVersion.toString("base64"),
    };
    for (const [what, blob] of Object.entries(blobs)) {
      const e = entry(blob);
      const r = decryptHistoryEntry(keys, e);
      assert.ok("undecryptable" in r && r.undecryptable, `${what}: reported as undecryptable`);
      assert.equal(typeof r.error, "string", what);
      assert.ok(r.error.length > 0, what);
      assert.ok(!r.error.includes(blob), `${what}: the reason does not carry the blob`);
      assert.ok(!("prompt" in r) && !("command" in r), `${what}: no garbage shown as a command`);
      assert.equal(r.id, e.id, `${what}: still listed, with its metadata`);
      assert.equal(r.deviceId, "device-a");
    }
  });
});
