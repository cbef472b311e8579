// The keys file: 0600, atomic, refuses what it cannot trust, and never holds the phrase.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  KeysFile,
  KeysFileError,
  defaultKeysPath,
  purposeKeys,
  type KeysFileErrorReason,
  type StoredKeys,
} from "../../../src/client/crypto/index.js";
import { tempDir } from "../../helpers/tmp.js";
import { unhex, vectors as v } from "./vectors.js";

const stored: StoredKeys = {
  version: 1,
  accountId: "co_zAccount",
  keys: purposeKeys(unhex(v.masterKeyHex)),
  createdAt: 1_700_000_000_000,
};

function refuses(file: KeysFile, reason: KeysFileErrorReason): void {
  assert.throws(
    () => file.load(),
    (err: unknown) => {
      assert.ok(err instanceof KeysFileError, `expected a KeysFileError, got ${String(err)}`);
      assert.equal(err.reason, reason, err.message);
      assert.ok(!err.message.includes(v.authKeyBase64) && !err.hint.includes(v.authKeyBase64));
      return true;
    },
  );
}

describe("keys file", () => {
  const dirs: { cleanup: () => Promise<void> }[] = [];
  after(async () => Promise.all(dirs.map((d) => d.cleanup())));
  const file = async () => {
    const d = await tempDir("csk-");
    dirs.push(d);
    const dir = join(d.path, "cfg");
    return { dir, keys: new KeysFile(join(dir, "sync-keys.json")) };
  };

  it("is ~/.config/cmdai/sync-keys.json", () => {
    assert.equal(defaultKeysPath({ HOME: "/home/ada" }), "/home/ada/.config/cmdai/sync-keys.json");
  });

  it("round-trips: 0600 in a new 0700 directory, base64 keys, no temp file, no phrase", async () => {
    const { dir, keys } = await file();
    assert.equal(keys.load(), null);
    keys.save({ ...stored, accountId: "co_zOld" });
    keys.save(stored);
    assert.equal(statSync(keys.path).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(dir), ["sync-keys.json"]);
    assert.deepEqual(keys.load(), stored);
    const text = readFileSync(keys.path, "utf8");
    assert.equal((JSON.parse(text) as { keys: { authKey: string } }).keys.authKey, v.authKeyBase64);
    assert.ok(!text.includes("abandon"), "the file never holds the phrase");
  });

  it("removes the file, and removing an absent file is no error", async () => {
    const { keys } = await file();
    keys.remove();
    keys.save(stored);
    keys.remove();
    assert.equal(keys.load(), null);
    keys.remove();
  });

  it("refuses a file readable by group or others, with a chmod hint", async () => {
    const { keys } = await file();
    keys.save(stored);
    chmodSync(keys.path, 0o644);
    refuses(keys, "insecure_permissions");
    assert.throws(
      () => keys.load(),
      (err: KeysFileError) => err.hint === `run: chmod 600 ${keys.path}`,
    );
    chmodSync(keys.path, 0o600);
    assert.deepEqual(keys.load(), stored);
  });

  it("refuses a malformed file instead of treating it as absent", async () => {
    const { keys } = await file();
    keys.save(stored);
    const good = JSON.parse(readFileSync(keys.path, "utf8")) as Record<string, unknown>;
    const bad: unknown[] = [
      "{not json",
      { ...good, version: 2 },
      { ...good, accountId: 3 },
      { ...good, keys: { ...(good.keys as object), authKey: "c2hvcnQ=" } },
      { ...good, keys: { commandKey: v.authKeyBase64 } },
    ];
    for (const content of bad) {
      writeFileSync(keys.path, typeof content === "string" ? content : JSON.stringify(content), {
        mode: 0o600,
      });
      refuses(keys, "malformed");
    }
  });

  it("reports a path it cannot read as unreadable", async () => {
    const { dir, keys } = await file();
    // A directory in its place: unreadable as a file even for root, unlike a chmod 000 file.
    mkdirSync(keys.path, { recursive: true, mode: 0o700 });
    refuses(keys, "unreadable");
    assert.ok(statSync(dir).isDirectory());
  });
});
