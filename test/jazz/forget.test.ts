// sync.reset forgets this device's data: the Jazz storage file goes, the relay's copy stays.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestRelay, type TestRelay } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { Collector, command, newAuthKey, service } from "./fixtures.js";

describe("forgetLocalData", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let relay: TestRelay;

  before(async () => {
    dir = await tempDir("cs-jf-");
    relay = await startTestRelay();
  });
  after(async () => {
    await relay?.stop();
    await dir?.cleanup();
  });

  it("deletes the local Jazz storage; the account is loaded again from the relay", async () => {
    const svc = service(relay.url, dir.path, "forget");
    const storage = join(dir.path, "forget.jazz.db");
    const identity = svc.deriveIdentity(newAuthKey());
    const session = await svc.open({ identity, mode: "create" });
    await session.connect();
    const written = command();
    await session.write([written]);
    await session.waitForUpload(10_000);
    await session.close();
    assert.ok(existsSync(storage));

    await svc.forgetLocalData();
    assert.ok(!existsSync(storage), "the storage file is gone");
    assert.ok(!existsSync(`${storage}-wal`), "its WAL is gone");

    const again = await svc.open({ identity, mode: "join" });
    const seen = new Collector(again);
    await again.connect();
    await seen.until("the command from the relay", (c) => c.command(written.id));
    await again.close();
  });
});
