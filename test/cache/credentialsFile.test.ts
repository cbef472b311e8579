import assert from "node:assert/strict";
import { chmodSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { CredentialsFile } from "../../src/cache/credentialsFile.js";
import { CredentialsError, type Credentials } from "../../src/sync/credentials.js";
import { tempDir } from "../helpers/tmp.js";

const creds: Credentials = {
  version: 1,
  accountId: "co_zAccount",
  agentSecret: "sealerSecret_z…/signerSecret_z…",
  deviceId: "0b6c6f0e-8d3f-4a39-9d6a-6a1f0f5e2b11",
  deviceName: "laptop",
  platform: "linux",
  createdAt: 1_700_000_000_000,
  syncRootId: null,
  mode: "create",
};

describe("credentials file", () => {
  const dirs: { cleanup: () => Promise<void> }[] = [];
  after(async () => Promise.all(dirs.map((d) => d.cleanup())));
  const file = async () => {
    const d = await tempDir("csk-");
    dirs.push(d);
    return {
      dir: join(d.path, "cfg"),
      store: new CredentialsFile(join(d.path, "cfg", "sync-credentials.json")),
    };
  };

  it("writes 0600 in a 0700 directory, atomically, and reads back what it wrote", async () => {
    const { dir, store } = await file();
    assert.equal(store.load(), null);
    store.save(creds);
    store.save({ ...creds, syncRootId: "co_zRoot" });
    assert.equal(statSync(store.path).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(dir), ["sync-credentials.json"], "no temp file is left behind");
    assert.deepEqual(store.load(), { ...creds, syncRootId: "co_zRoot" });
    store.remove();
    assert.equal(store.load(), null);
  });

  it("refuses a file readable by group or others, with a chmod hint", async () => {
    const { store } = await file();
    store.save(creds);
    chmodSync(store.path, 0o644);
    assert.throws(
      () => store.load(),
      (err: unknown) =>
        err instanceof CredentialsError &&
        err.reason === "insecure_permissions" &&
        err.hint === `run: chmod 600 ${store.path}` &&
        err.message.includes("644"),
    );
    chmodSync(store.path, 0o600);
    assert.equal(store.load()?.accountId, creds.accountId);
  });

  it("refuses a malformed file instead of treating it as absent", async () => {
    const { store } = await file();
    store.save(creds);
    writeFileSync(store.path, "{not json", { mode: 0o600 });
    assert.throws(
      () => store.load(),
      (err: unknown) => err instanceof CredentialsError && err.reason === "unreadable",
    );
    writeFileSync(store.path, JSON.stringify({ version: 1, accountId: 3 }), { mode: 0o600 });
    assert.throws(() => store.load(), CredentialsError);
  });
});
