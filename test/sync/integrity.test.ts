// The completeness check (sync/integrity.ts) through the SyncManager, with the in-memory Remote:
// run after every connection, re-run on the probe schedule while the account is not complete,
// stopped when the link goes, and what daemon.health says meanwhile.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import type { MissingPart } from "../../src/sync/remote.js";
import { waitFor } from "../helpers/wait.js";
import { FakeRemote } from "./fakeRemote.js";
import { command, harness, type Harness } from "./support.js";

const INTERVAL = 5_000;
const feedAbsent: MissingPart = { part: "commandHistory", state: "absent" };

describe("completeness check", () => {
  let h: Harness;
  let remote: FakeRemote;
  /** Times a check asked the relay (a quick check once, an escalated one twice); full checks. */
  let checks = 0;
  let fullChecks = 0;
  afterEach(() => h.cleanup());

  const setup = async () => {
    remote = new FakeRemote();
    checks = 0;
    // Jitter 0.5: probes come exactly every syncIntervalMs.
    h = await harness({ remote, config: { syncIntervalMs: INTERVAL }, random: () => 0.5 });
    fullChecks = 0;
    const session = remote.session;
    const inventory = session.inventory.bind(session);
    const holdings = session.holdings.bind(session);
    session.inventory = (opts) => {
      fullChecks++;
      return inventory(opts);
    };
    // Every check asks the relay through holdings, a full one inside its inventory.
    session.holdings = (opts) => {
      checks++;
      return holdings(opts);
    };
  };
  const health = () => h.manager.healthReport();
  const until = (what: string, ok: () => boolean) => waitFor(() => ok() || null, { what, timeoutMs: 5_000 });

  it("is unknown before the first connection and complete after it", async () => {
    await setup();
    assert.deepEqual(health().integrity, {
      status: "unknown",
      checkedAt: null,
      missing: [],
      missingCommands: 0,
    });
    await h.manager.connect();
    await until("the check", () => health().integrity.status === "complete");
    assert.equal(health().integrity.checkedAt, h.clock.now());
    assert.equal(health().healthy, true);
    h.clock.advance(INTERVAL * 3);
    assert.equal(checks, 1, "no probing once complete");
  });

  it("gives a relay that came back empty what the device holds, on the next connection", async () => {
    await setup();
    await h.manager.connect();
    await h.manager.pushEntries({ entries: [command(), command()] });
    await h.manager.syncNow();
    assert.equal(remote.relay.records.size >= 2, true);
    remote.relay.restartEmpty();
    await until("the drop", () => h.manager.state === "OFFLINE");
    await h.manager.connect();
    await until("the check after the reconnect", () => checks >= 2);
    await until("complete", () => health().integrity.status === "complete");
    assert.equal(fullChecks, 0, "the account was complete: quick checks only");
    const commands = [...remote.relay.records.values()].filter((r) => r.type === "command");
    assert.equal(commands.length, 2, "both commands are on the relay again");
    assert.ok(remote.relay.accounts.has(remote.session.accountId));
  });

  it("an account missing here and on the relay is unhealthy, probed every syncIntervalMs, healthy once complete", async () => {
    await setup();
    remote.session.localMissing = [feedAbsent];
    await h.manager.connect();
    await until("incomplete", () => health().integrity.status === "incomplete");
    assert.equal(health().healthy, false);
    assert.deepEqual(health().integrity.missing, [
      { where: "jazz", ...feedAbsent },
      { where: "relay", ...feedAbsent },
    ]);
    assert.equal(fullChecks, 1, "the quick check found parts missing: a full one followed");
    h.clock.advance(INTERVAL - 1);
    assert.equal(fullChecks, 1, "not before the interval");
    h.clock.advance(1);
    await until("the second probe", () => fullChecks === 2 && health().integrity.checkedAt === h.clock.now());
    assert.equal(checks, 3, "while incomplete, probes are full checks only");
    // The rest arrives (a device that holds it connected): the next probe finds the account whole.
    remote.session.localMissing = [];
    h.clock.advance(INTERVAL);
    await until("complete", () => health().integrity.status === "complete");
    assert.equal(health().healthy, true);
    assert.deepEqual(health().integrity.missing, []);
  });

  it("a relay lacking what the device holds is restoring (healthy), and probing stops when the link goes", async () => {
    await setup();
    remote.session.holdUploads = true;
    await h.manager.connect();
    await until("restoring", () => health().integrity.status === "restoring");
    assert.equal(health().healthy, true);
    assert.deepEqual(health().integrity.missing, [{ where: "relay", part: "account", state: "absent" }]);
    remote.session.drop();
    await until("the drop", () => h.manager.state === "OFFLINE");
    h.clock.advance(INTERVAL * 3);
    assert.equal(fullChecks, 1, "no probe while disconnected");
    assert.equal(health().integrity.status, "restoring", "the last verdict stays until the next check");
  });

  it("a reset forgets the verdict", async () => {
    await setup();
    await h.manager.connect();
    await until("complete", () => health().integrity.status === "complete");
    await h.manager.reset();
    assert.equal(health().integrity.status, "unknown");
  });
});
