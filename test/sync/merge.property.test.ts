// Properties of the one merge (src/sync/merge.ts) that the cache and the Jazz root share: each join
// is commutative, associative and idempotent on the canonical form; a merged record is made of
// versions some device wrote; and a history of versions reaches the same final records whichever
// path it takes (the real SQLite cache, as records from the relay or as local changes; the Jazz
// reducers over feed items and map edits) and whatever order it arrives in.
// MERGE_SEED reproduces a failure (fast-check prints the seed and the shrunk counterexample);
// MERGE_RUNS sets the number of cases per property (default 200).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { SqliteCache } from "../../src/cache/index.js";
import { applyChanges } from "../../src/sync/apply.js";
import { joinCommand, joinDevice, joinPreference, joinRecords, mergeRecord } from "../../src/sync/merge.js";
import {
  commandRecord,
  identicalRecords,
  normalize,
  sameRecord,
  type CommandRecord,
} from "../../src/sync/records.js";
import type { RemoteRecord } from "../../src/sync/remote.js";
import { tempDir } from "../helpers/tmp.js";
import {
  asObject,
  commandArb,
  cutsArb,
  deviceArb,
  expectedState,
  historyArb,
  layoutArb,
  originArb,
  PAYLOADS,
  preferenceArb,
  throughCache,
  throughJazzReducers,
} from "./merge.support.js";

const seed = process.env.MERGE_SEED ? Number(process.env.MERGE_SEED) : undefined;
const params = { numRuns: Number(process.env.MERGE_RUNS ?? 200), ...(seed !== undefined && { seed }) };

/** Canonical form equality: the same fields with the same values, in the same key order. */
function same(actual: unknown, expected: unknown, message?: string): void {
  assert.equal(JSON.stringify(actual), JSON.stringify(expected), message);
}

function lawsHold<R extends RemoteRecord>(arb: fc.Arbitrary<R>, join: (a: R, b: R) => R): void {
  fc.assert(
    fc.property(arb, arb, arb, (a, b, c) => {
      same(join(a, b), join(b, a), "commutative");
      same(join(join(a, b), c), join(a, join(b, c)), "associative");
      same(join(a, a), normalize(a), "idempotent");
      same(join(a, join(a, b)), join(a, b), "absorbs what it already holds");
    }),
    params,
  );
}

const ID = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";
// The empty payload is an evicted cache row's: it takes part in the laws too.
const command = commandArb(ID, originArb([...PAYLOADS, ""]));
const originOf = (c: CommandRecord) => [c.deviceId, c.encryptedPayload, c.safetyLevel, c.createdAt];
const reportOf = (c: CommandRecord) => [c.executedAt ?? null, c.success ?? null];

describe("the merge rules (sync/merge.ts)", () => {
  it("joins commands commutatively, associatively and idempotently", () => {
    lawsHold(command, joinCommand);
  });

  it("joins preferences commutatively, associatively and idempotently", () => {
    lawsHold(preferenceArb("theme"), joinPreference);
  });

  it("joins devices commutatively, associatively and idempotently", () => {
    lawsHold(deviceArb("dev-x"), joinDevice);
  });

  it("tells the same canonical form apart field by field, as its JSON would", () => {
    const record = fc.oneof(command, preferenceArb("theme"), deviceArb("dev-x"));
    // A pair is often equal (a copy, with keys in another order and undefined fields spelled out).
    const copy = (r: RemoteRecord) =>
      Object.fromEntries(Object.entries({ ...r, extra: undefined }).reverse());
    fc.assert(
      fc.property(record, record, fc.boolean(), (a, b, equal) => {
        const other = (equal ? copy(a) : b) as RemoteRecord;
        const json = JSON.stringify(normalize(a)) === JSON.stringify(normalize(other));
        assert.equal(sameRecord(a, other), json);
        if (identicalRecords(a, other)) assert.ok(json, "identical implies the same canonical form");
        if (equal) assert.ok(identicalRecords(a, other), "a copy is identical");
      }),
      params,
    );
  });

  it("a merged command carries one version's origin and one version's execution report", () => {
    fc.assert(
      fc.property(command, command, (a, b) => {
        const m = joinCommand(a, b);
        assert.ok([originOf(a), originOf(b)].some((o) => JSON.stringify(o) === JSON.stringify(originOf(m))));
        assert.ok([reportOf(a), reportOf(b)].some((r) => JSON.stringify(r) === JSON.stringify(reportOf(m))));
        assert.equal(m.executed, a.executed || b.executed, "executed is sticky");
        if (a.deletedAt !== undefined || b.deletedAt !== undefined)
          assert.equal(m.deletedAt, Math.min(a.deletedAt ?? Infinity, b.deletedAt ?? Infinity));
      }),
      params,
    );
  });

  it("never makes up an execution report: the earliest wins whole, a tie resolves to false", () => {
    const base = commandRecord({
      id: ID,
      deviceId: "dev-a",
      encryptedPayload: PAYLOADS[0] ?? "",
      safetyLevel: "safe",
      executed: true,
      createdAt: 1,
    });
    const early = { ...base, executedAt: 100, success: true };
    const late = { ...base, executedAt: 200, success: false };
    same(reportOf(joinCommand(early, late)), [100, true]);
    same(reportOf(joinCommand(late, early)), [100, true]);
    same(reportOf(joinCommand(early, { ...early, success: false })), [100, false]);
    // A report with a success beats the same time without one; any report beats none.
    same(reportOf(joinCommand({ ...base, executedAt: 100 }, early)), [100, true]);
    same(reportOf(joinCommand(base, late)), [200, false]);
  });

  it("a merged preference is one of the writes; a merged device keeps one version's description", () => {
    fc.assert(
      fc.property(preferenceArb("k"), preferenceArb("k"), (a, b) => {
        const m = joinPreference(a, b);
        assert.ok([a, b].some((p) => JSON.stringify(normalize(p)) === JSON.stringify(m)));
      }),
      params,
    );
    fc.assert(
      fc.property(deviceArb("d"), deviceArb("d"), (a, b) => {
        const m = joinDevice(a, b);
        const newest = a.lastSeen === b.lastSeen ? [a, b] : [a.lastSeen > b.lastSeen ? a : b];
        assert.ok(newest.some((d) => d.name === m.name && d.platform === m.platform));
        assert.equal(m.isActive, a.isActive && b.isActive, "a removal is sticky");
        assert.equal(m.firstSeen, Math.min(a.firstSeen, b.firstSeen));
        assert.equal(m.lastSeen, Math.max(a.lastSeen, b.lastSeen));
      }),
      params,
    );
  });

  it("refuses a local change to encrypted or createdAt, never one from the relay, and keeps the origin", () => {
    fc.assert(
      fc.property(commandArb(ID), commandArb(ID), (stored, incoming) => {
        const contradicts =
          stored.encryptedPayload !== incoming.encryptedPayload || stored.createdAt !== incoming.createdAt;
        const local = mergeRecord(stored, incoming, "local");
        assert.equal(local.kind === "conflict", contradicts);
        if (local.kind === "changed") same(originOf(local.record as CommandRecord), originOf(stored));
        const relay = mergeRecord(stored, incoming, "relay");
        const joined = joinRecords(stored, incoming);
        if (relay.kind === "conflict") assert.fail("a record from the relay is never refused");
        if (relay.kind === "changed") same(relay.record, joined);
        else same(joined, normalize(stored), "unchanged means the join is the stored record");
      }),
      params,
    );
  });
});

describe("a history reaches the same records through the cache and through Jazz", () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let cache: SqliteCache;

  before(async () => {
    dir = await tempDir("cs-merge-");
    cache = SqliteCache.open(join(dir.path, "cache", "sync.db"));
  });

  after(async () => {
    cache?.close();
    await dir?.cleanup();
  });

  it("honest histories: relay records, local changes and the Jazz reducers agree, in any order", () => {
    fc.assert(
      fc.property(historyArb({ honest: true }), cutsArb, cutsArb, layoutArb, (h, cuts, otherCuts, layout) => {
        const expected = asObject(expectedState(h.versions));
        const relay = throughCache(cache, h.order, { local: false, cuts, now: 10 });
        const local = throughCache(cache, h.other, { local: true, cuts: otherCuts, now: 10 });
        assert.equal(local.refused, 0, "honest local changes are never refused");
        assert.deepEqual(asObject(relay.state), expected, "cache, as records from the relay");
        assert.deepEqual(asObject(local.state), expected, "cache, as local changes");
        assert.deepEqual(asObject(throughJazzReducers(h.other, layout)), expected, "Jazz reducers");
      }),
      params,
    );
  });

  it("conflicting origins from the relay resolve the same way on the cache and in Jazz", () => {
    fc.assert(
      fc.property(
        historyArb({ honest: false }),
        cutsArb,
        cutsArb,
        layoutArb,
        (h, cuts, otherCuts, layout) => {
          const expected = asObject(expectedState(h.versions));
          assert.deepEqual(
            asObject(throughCache(cache, h.order, { local: false, cuts, now: 10 }).state),
            expected,
          );
          assert.deepEqual(
            asObject(throughCache(cache, h.other, { local: false, cuts: otherCuts, now: 10 }).state),
            expected,
          );
          assert.deepEqual(asObject(throughJazzReducers(h.order, layout)), expected);
        },
      ),
      params,
    );
  });

  it("conflicting local changes are refused and the first version's origin stays", () => {
    fc.assert(
      fc.property(historyArb({ honest: false }), cutsArb, (h, cuts) => {
        const { state, refused } = throughCache(cache, h.order, { local: true, cuts, now: 10 });
        let contradictions = 0;
        const first = new Map<string, CommandRecord>();
        for (const v of h.order) {
          if (v.type !== "command") continue;
          const f = first.get(v.id);
          if (!f) first.set(v.id, v);
          else if (f.encryptedPayload !== v.encryptedPayload || f.createdAt !== v.createdAt) contradictions++;
        }
        assert.equal(refused, contradictions);
        for (const f of first.values()) {
          const stored = [...state.values()].find((r) => r.type === "command" && r.id === f.id);
          same(originOf(stored as CommandRecord), originOf(f));
        }
      }),
      params,
    );
  });
});

describe("an evicted command (payload dropped for cacheMaxSize) meets a version from the relay", () => {
  it("a replay changes nothing; another origin brings the entry back whole as that version", async () => {
    const dir = await tempDir("cs-merge-ev-");
    const cache = SqliteCache.open(join(dir.path, "cache", "sync.db"));
    try {
      const stored = commandRecord({
        id: ID,
        deviceId: "dev-b",
        encryptedPayload: PAYLOADS[0] ?? "",
        safetyLevel: "safe",
        executed: false,
        createdAt: 1000,
      });
      const relay = (record: RemoteRecord) =>
        applyChanges(cache, [{ label: "r", record }], { now: 10, enqueue: false });
      relay(stored);
      assert.equal(cache.enforceMaxSize(1), 1);
      assert.equal(relay(stored).changed, 0, "a replay of what was evicted is no change");
      assert.equal(cache.entries.get({ type: "command", id: ID })?.evicted, true);
      // Another version, with a later createdAt: against the full row it would lose, but the row
      // has no payload left, and a version without one never wins the origin (an entry with an
      // empty payload would come back). So the entry comes back whole, as that version.
      const other = { ...stored, deviceId: "dev-a", encryptedPayload: PAYLOADS[1] ?? "", createdAt: 1001 };
      assert.equal(relay(other).changed, 1);
      const back = cache.entries.get({ type: "command", id: ID });
      assert.equal(back?.evicted, false);
      same(back?.record, other);
    } finally {
      cache.close();
      await dir.cleanup();
    }
  });
});
