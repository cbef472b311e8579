// The Jazz path of the merge through real CoValues: random histories (merge.support.ts) are
// written half on each of two devices of one account while both are disconnected, so that the
// feed, the preferences map and the device maps (known to both beforehand) get concurrent edits
// from two sessions; after reconnecting, what each device reads back equals what the cache path
// makes of the same versions.
// A handful of cases (CoValues over a relay cost ~1 s each); merge.property.test.ts runs hundreds
// through the same reducers without a relay. MERGE_SEED reproduces a run.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { SqliteCache } from "../../src/cache/index.js";
import { joinRecords } from "../../src/sync/merge.js";
import { deviceRecord, keyString, recordKey } from "../../src/sync/records.js";
import type { RemoteRecord, RemoteSession } from "../../src/sync/remote.js";
import { newAuthKey, service } from "../jazz/fixtures.js";
import { startTestRelay, type TestRelay } from "../helpers/relay.js";
import { tempDir } from "../helpers/tmp.js";
import { once, waitFor } from "../helpers/wait.js";
import {
  asObject,
  cutsArb,
  expectedState,
  historyArb,
  nextPrefix,
  rekey,
  throughCache,
  unkey,
} from "./merge.support.js";

const CASES = 8;
const seed = process.env.MERGE_SEED ? Number(process.env.MERGE_SEED) : Math.floor(Math.random() * 2 ** 31);

/**
 * What a device's cache holds: everything it wrote and everything it has been delivered, joined per
 * key. A session does not deliver back what it wrote (its cache holds that already).
 */
class Joined {
  readonly view = new Map<string, RemoteRecord>();
  absorb = (records: RemoteRecord[]) => {
    for (const r of records) {
      const key = keyString(recordKey(r));
      const prev = this.view.get(key);
      this.view.set(key, prev ? joinRecords(prev, r) : r);
    }
  };
}

const sameKey = (x: RemoteRecord, y: RemoteRecord) => keyString(recordKey(x)) === keyString(recordKey(y));

/** The records of one run (its key prefix), under the placeholder prefix. */
function ofRun(view: ReadonlyMap<string, RemoteRecord>, prefix: string): Record<string, RemoteRecord> {
  const mine = [...view.values()].filter((r) => keyString(recordKey(r)).includes(`\u0000${prefix}`));
  return asObject(unkey(new Map(mine.map((r) => [keyString(recordKey(r)), r]))));
}

describe(`random histories through real CoValues (MERGE_SEED=${seed})`, () => {
  let relay: TestRelay;
  let dir: { path: string; cleanup: () => Promise<void> };
  let cache: SqliteCache;
  let a: RemoteSession;
  let b: RemoteSession;
  const seen = { a: new Joined(), b: new Joined() };
  const offs: (() => void)[] = [];

  before(async () => {
    relay = await startTestRelay();
    dir = await tempDir("cs-mj-");
    cache = SqliteCache.open(join(dir.path, "cache", "sync.db"));
    const authKey = newAuthKey();
    const svcA = service(relay.url, dir.path, "a");
    a = await svcA.open({ identity: svcA.deriveIdentity(authKey), mode: "create" });
    await a.connect();
    await a.waitForUpload(10_000);
    const svcB = service(relay.url, dir.path, "b");
    b = await svcB.open({ identity: svcB.deriveIdentity(authKey), mode: "join" });
    await b.connect();
    offs.push(a.onRecords(seen.a.absorb), b.onRecords(seen.b.absorb));
  });

  after(async () => {
    for (const off of offs) off();
    await a?.close();
    await b?.close();
    await relay?.stop();
    cache?.close();
    await dir?.cleanup();
  });

  it("two devices writing apart converge on the records the cache computes", async () => {
    const caseArb = fc.record({
      history: fc.oneof(historyArb({ honest: true }), historyArb({ honest: false })),
      onA: fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
      cuts: cutsArb,
    });
    for (const { history, onA, cuts } of fc.sample(caseArb, { numRuns: CASES, seed })) {
      const prefix = nextPrefix();
      const expected = asObject(expectedState(history.versions));
      const cached = throughCache(cache, history.order, { local: false, cuts, now: 10 });
      assert.deepEqual(asObject(cached.state), expected, "the cache path");

      // The first version of each device first, on A, connected: B sees it before both go apart,
      // so that both then edit the same CoMap, not a copy each.
      const records = history.order.map((r) => rekey(r, prefix));
      const firsts = records.filter(
        (r, i) => r.type === "device" && records.findIndex((o) => sameKey(o, r)) === i,
      );
      /** Writes on one device, as its uploader does: what it writes is in its cache. */
      const write = (on: "a" | "b", written: RemoteRecord[]) => {
        seen[on].absorb(written);
        return (on === "a" ? a : b).write(written);
      };
      await write("a", firsts);
      await waitFor(() => firsts.every((r) => seen.b.view.has(keyString(recordKey(r)))), {
        what: "the devices at B",
      });
      a.disconnect();
      b.disconnect();
      for (const [i, record] of records.entries()) {
        if (!firsts.includes(record)) await write(onA[i % onA.length] ? "a" : "b", [record]);
      }
      await Promise.all([a.connect(), b.connect()]);
      await Promise.all([a.waitForUpload(10_000), b.waitForUpload(10_000)]);

      const converged = () =>
        [seen.a, seen.b].every((s) => JSON.stringify(ofRun(s.view, prefix)) === JSON.stringify(expected));
      await waitFor(converged, { what: `case ${prefix} to converge`, timeoutMs: 15_000 }).catch(() => {
        assert.deepEqual(ofRun(seen.a.view, prefix), expected, "device A");
        assert.deepEqual(ofRun(seen.b.view, prefix), expected, "device B");
      });
      // A new listener is replayed the whole root, each delivery merged by id (the feeds of the
      // history come one after another: the live shard first, then those read from storage).
      for (const session of [a, b]) {
        const replay = new Joined();
        let repeated = 0;
        const off = session.onRecords((records) => {
          const keys = new Set(records.map((r) => keyString(recordKey(r))));
          repeated += records.length - keys.size;
          replay.absorb(records);
        });
        try {
          await waitFor(() => JSON.stringify(ofRun(replay.view, prefix)) === JSON.stringify(expected), {
            what: "a fresh replay",
          }).catch(() => assert.deepEqual(ofRun(replay.view, prefix), expected, "a fresh replay"));
          assert.equal(repeated, 0, "one record per key in a delivery");
        } finally {
          off();
        }
      }
    }
  });

  it("a device map edited on both devices at once takes the name of the newest lastSeen, not of the later write", async () => {
    const deviceId = `${nextPrefix()}-laptop`;
    const base = { type: "device", deviceId, platform: "linux", schemaVersion: 1, firstSeen: 1 } as const;
    await a.write([{ ...base, name: "first", lastSeen: 10, isActive: true }]);
    await waitFor(() => seen.b.view.has(keyString({ type: "device", id: deviceId })), {
      what: "the device at B",
    });
    a.disconnect();
    b.disconnect();
    await a.write([{ ...base, name: "renamed", lastSeen: 30, isActive: true }]);
    // Written later (cojson's LWW would pick it), but an older report of the device.
    await b.write([{ ...base, name: "stale", lastSeen: 20, isActive: false }]);
    await Promise.all([a.connect(), b.connect()]);
    const expected = deviceRecord({ ...base, name: "renamed", lastSeen: 30, isActive: false });
    for (const session of [a, b]) {
      await waitFor(
        async () => {
          const replay = await once<RemoteRecord[]>((l) => session.onRecords(l));
          const record = replay.find((r) => r.type === "device" && r.deviceId === deviceId);
          return JSON.stringify(record) === JSON.stringify(expected);
        },
        { what: "the merged device", timeoutMs: 15_000 },
      );
    }
  });
});
