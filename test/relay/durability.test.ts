// The relay acknowledges only what it has stored: cojson's server would send the acknowledgement
// before writing to storage, so a relay killed in between loses content its clients consider
// uploaded (and they never resend it).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { EventEmitter } from "node:events";
import type { WebSocket } from "ws";
import { storedSessionHeads } from "../../src/jazz/cojsonAdapter.js";
import { DeferredSendSocket } from "../../src/relay/deferredSocket.js";
import { startRelayProcess, type RelayProcess } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { command, newAuthKey, service } from "../jazz/fixtures.js";

/** "<CoValue ID> <session ID>" → index of the last transaction stored, read-only. */
function sessions(path: string): Map<string, number> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return storedSessionHeads({
      get: <T>(sql: string, params: unknown[]) => db.prepare(sql).get(params) as T | undefined,
      query: <T>(sql: string, params: unknown[]) => db.prepare(sql).all(params) as T[],
    });
  } finally {
    db.close();
  }
}

describe("relay durability", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let relay: RelayProcess;
  before(async () => {
    dir = await tempDir("cs-rd-");
    relay = await startRelayProcess({ dbPath: join(dir.path, "relay.db") });
  });
  after(async () => {
    await relay?.kill();
    await dir?.cleanup();
  });

  it("everything a client saw acknowledged is already in the relay's database", async () => {
    const svc = service(relay.url, dir.path, "client");
    const session = await svc.open({ identity: svc.deriveIdentity(newAuthKey()), mode: "create" });
    try {
      await session.connect();
      for (let i = 0; i < 25; i++) {
        await session.write([command()]);
        await session.waitForUpload(10_000);
        // Read at once, as a SIGKILL would strike: no grace period for the relay.
        const atRelay = sessions(join(dir.path, "relay.db"));
        for (const [key, lastIdx] of sessions(join(dir.path, "client.jazz.db"))) {
          assert.ok(
            (atRelay.get(key) ?? 0) >= lastIdx,
            `round ${i}: relay lacks ${key} (${atRelay.get(key)} < ${lastIdx})`,
          );
        }
      }
    } finally {
      await session.close();
    }
  });

  it("DeferredSendSocket writes in order, one macrotask later", async () => {
    const sent: string[] = [];
    const fake = Object.assign(new EventEmitter(), {
      OPEN: 1,
      readyState: 1,
      bufferedAmount: 0,
      send: (data: string) => sent.push(data),
      close: () => undefined,
    });
    const socket = new DeferredSendSocket(fake as unknown as WebSocket);
    socket.send("a");
    socket.send("bb");
    assert.deepEqual(sent, []);
    assert.equal(socket.bufferedAmount, 3);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(sent, ["a", "bb"]);
    socket.send("c");
    socket.close(); // close flushes first
    assert.deepEqual(sent, ["a", "bb", "c"]);
  });
});
