// The seed's retry policy as the daemon applies it: the production stack (SyncManager, SQLite cache,
// JazzSyncService, driveConnection) against a closed port, an upgrade answered 429/503/401/403, and
// a real relay, on a fake clock. Exact delays: the clock is advanced to 1 ms before each due time
// (no attempt) and then to it (one attempt, counted where the WebSocket is constructed and where the
// front receives it). At t=0 there are two connections: open()'s account check, then attempt 1.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { ErrorCode } from "../../src/protocol.js";
import { freePort, startTestRelay, type TestRelay } from "../helpers/relay.js";
import { waitFor } from "../helpers/wait.js";
import { attemptAt, expectSchedule, firstFailure, offsets, Fixtures } from "./retryDriver.support.js";

const fx = new Fixtures();
afterEach(() => fx.cleanup());

describe("retry driver on the production stack (fake clock)", () => {
  it("closed port: attempts at 0, +1, +2, +4, +8 s (5), then a probe every syncIntervalMs", async () => {
    const s = await fx.stack(`ws://127.0.0.1:${await freePort()}`);
    assert.deepEqual(offsets(s.sockets, s.t0), [0, 0]);
    const h = await firstFailure(s);
    assert.equal(h.state, "OFFLINE");
    assert.equal(h.nextRetryAt, s.t0 + 1_000);
    assert.equal(h.healthy, true, "a network failure is not fatal");
    assert.deepEqual(h.jazz, { connected: false, relay: h.jazz.relay, latency: null });
    assert.equal(h.lastError?.code, ErrorCode.NetworkUnreachable);
    assert.match(h.lastError?.message ?? "", /ECONNREFUSED/);
    await expectSchedule(s, [
      [1_000, 3_000],
      [3_000, 7_000],
      [7_000, 15_000],
      [15_000, 20_000], // fifth attempt: the burst is spent, probing starts
      [20_000, 25_000],
      [25_000, 30_000],
    ]);
    assert.deepEqual(offsets(s.sockets, s.t0), [0, 0, 1_000, 3_000, 7_000, 15_000, 20_000, 25_000]);
    assert.equal(s.health().state, "OFFLINE");
    assert.match(s.health().lastError?.message ?? "", /ECONNREFUSED/);
  });

  it("a relay that never answers: each attempt times out after 10 s on the clock, then 1, 2, 4, 8 s", async () => {
    const { f, s } = await fx.fronted("silent", { init: false });
    const initDone = s.init();
    // sync.init waits for open()'s account check, which times out on the clock too.
    await waitFor(() => f.seen.length === 1, { what: "the account check" });
    s.clock.advance(10_000);
    await initDone;
    assert.deepEqual(offsets(s.sockets, s.t0), [0, 10_000]); // attempt 1 once the account exists locally
    await waitFor(() => f.seen.length === 2, { what: "attempt 1" });
    s.clock.advance(10_000);
    await waitFor(() => s.health().lastError, { what: "attempt 1 to time out" });
    assert.equal(s.health().nextRetryAt, s.t0 + 21_000);
    assert.equal(s.health().lastError?.message, "relay did not answer within 10000 ms");
    for (const [at, next] of [
      [21_000, 33_000],
      [33_000, 47_000],
      [47_000, 65_000],
      [65_000, 80_000], // fifth attempt: probing every syncIntervalMs
    ] as const) {
      const arrived = () => f.seen.length === s.sockets.length;
      assert.equal(await attemptAt(s, s.t0 + at, { timesOut: { afterMs: 10_000, arrived } }), s.t0 + next);
      assert.equal(s.health().lastError?.at, s.t0 + at + 10_000);
    }
    assert.deepEqual(offsets(f.seen, s.t0), [0, 10_000, 21_000, 33_000, 47_000, 65_000]);
  });

  it("HTTP 429 with Retry-After: 7 → again exactly 7 s later, twice (3 attempts), then probing", async () => {
    const { f, s } = await fx.fronted(
      { status: 429, headers: { "retry-after": "7" } },
      { syncIntervalMs: 10_000 },
    );
    const h = await firstFailure(s);
    assert.equal(h.nextRetryAt, s.t0 + 7_000);
    assert.deepEqual(h.lastError, {
      code: ErrorCode.NetworkUnreachable,
      reason: "relay_rate_limited",
      message: "relay is rate limiting (HTTP 429)",
      at: s.t0,
    });
    await expectSchedule(s, [
      [7_000, 14_000],
      [14_000, 24_000], // third attempt: probing every syncIntervalMs (10 s)
      [24_000, 34_000],
    ]);
    assert.deepEqual(offsets(f.seen, s.t0), [0, 0, 7_000, 14_000, 24_000]);
    assert.deepEqual(offsets(s.sockets, s.t0), offsets(f.seen, s.t0));
  });

  it("HTTP 503 → exponential 1 s, 2 s (3 attempts), then probing", async () => {
    const { f, s } = await fx.fronted({ status: 503 });
    const h = await firstFailure(s);
    assert.equal(h.nextRetryAt, s.t0 + 1_000);
    assert.equal(h.lastError?.message, "relay answered HTTP 503");
    await expectSchedule(s, [
      [1_000, 3_000],
      [3_000, 8_000], // third attempt: probing
      [8_000, 13_000],
    ]);
    assert.deepEqual(offsets(f.seen, s.t0), [0, 0, 1_000, 3_000, 8_000]);
  });

  for (const status of [401, 403]) {
    it(`HTTP ${status} → one attempt, never retried; OFFLINE, lastError, healthy false`, async () => {
      const { f, s } = await fx.fronted({ status });
      const h = await firstFailure(s);
      assert.equal(h.state, "OFFLINE");
      assert.equal(h.healthy, false);
      assert.equal(h.nextRetryAt, null);
      assert.deepEqual(h.lastError, {
        code: ErrorCode.InvalidCredentials,
        reason: "auth_refused",
        message: `relay refused the credentials (HTTP ${status})`,
        at: s.t0,
      });
      // A day later: still no attempt (a retry timer would construct its WebSocket synchronously).
      for (let i = 0; i < 24 * 60; i++) s.clock.advance(60_000);
      assert.deepEqual(offsets(s.sockets, s.t0), [0, 0]);
      assert.deepEqual(offsets(f.seen, s.t0), [0, 0]);
      const later = s.health();
      assert.equal(later.state, "OFFLINE");
      assert.equal(later.healthy, false);
      assert.equal(later.nextRetryAt, null);
      assert.equal(later.lastError?.code, ErrorCode.InvalidCredentials);
    });
  }

  it("recovery: connects when the relay answers, ONLINE with latency; a drop restarts the burst at 1 s", async () => {
    const relays: TestRelay[] = [];
    fx.add(async () => {
      for (const r of relays) await r.stop();
    });
    relays.push(await startTestRelay());
    const { f, s } = await fx.fronted({ status: 503 });
    await firstFailure(s);
    await expectSchedule(s, [[1_000, 3_000]]);

    f.mode = { forwardTo: relays[0]!.port };
    await expectSchedule(s, [[3_000, null]]);
    let h = s.health();
    assert.equal(h.state, "ONLINE");
    assert.equal(h.jazz.connected, true);
    assert.equal(h.nextRetryAt, null);
    assert.equal(h.lastError, null, "a successful connection clears the error");
    assert.equal(h.healthy, true);
    await waitFor(() => s.health().jazz.latency !== null, { what: "a measured latency" });
    const latency = s.health().jazz.latency;
    assert.ok(typeof latency === "number" && latency >= 0 && latency < 1_000, `latency ${latency}`);
    await waitFor(() => s.health().queue.pending === 0, { what: "the device record to reach the relay" });

    // The relay dies: the drop is failure 1 of a new network burst.
    const drop = s.clock.now() - s.t0;
    await relays[0]!.stop();
    await waitFor(() => s.health().state === "OFFLINE", { what: "the drop" });
    h = s.health();
    assert.equal(h.nextRetryAt, s.t0 + drop + 1_000);
    assert.deepEqual(h.jazz, { connected: false, relay: h.jazz.relay, latency: null });
    assert.deepEqual(h.lastError, {
      code: ErrorCode.NetworkUnreachable,
      reason: "relay_connection_lost",
      message: "relay connection closed",
      at: s.t0 + drop,
    });
    assert.deepEqual(s.errors.at(-1), { ...h.lastError, retryInMs: 1_000 }, "the drop's sync.error");
    await expectSchedule(s, [
      [drop + 1_000, drop + 3_000],
      [drop + 3_000, drop + 7_000],
      [drop + 7_000, drop + 15_000],
      [drop + 15_000, drop + 20_000], // the drop + 4 attempts = 5: probing
    ]);

    // A probe finds a relay again.
    relays.push(await startTestRelay());
    f.mode = { forwardTo: relays[1]!.port };
    await expectSchedule(s, [[drop + 20_000, null]]);
    assert.equal(s.health().state, "ONLINE");
    assert.equal(s.health().lastError, null);
    assert.deepEqual(offsets(f.seen, s.t0), [
      0,
      0,
      1_000,
      3_000,
      drop + 1_000,
      drop + 3_000,
      drop + 7_000,
      drop + 15_000,
      drop + 20_000,
    ]);
  });

  it("pause idles the driver (no stale nextRetryAt); resume starts a fresh burst at once", async () => {
    const s = await fx.stack(`ws://127.0.0.1:${await freePort()}`);
    await firstFailure(s);
    await expectSchedule(s, [
      [1_000, 3_000],
      [3_000, 7_000],
      [7_000, 15_000],
      [15_000, 20_000],
    ]);
    s.manager.pause();
    s.clock.advance(s.t0 + 20_000 - s.clock.now());
    assert.equal(s.sockets.length, 6, "no attempt while paused");
    assert.equal(s.health().nextRetryAt, null);

    s.clock.advance(60_000);
    const resumedAt = s.clock.now();
    s.manager.resume();
    assert.equal(s.sockets.length, 7, "resume attempts at once");
    await waitFor(() => s.health().lastError?.at === resumedAt && s.health().nextRetryAt !== null);
    assert.equal(s.health().nextRetryAt, resumedAt + 1_000, "a fresh burst, not a probe");
  });

  it("after reset, init of a new identity attempts at once with a fresh burst", async () => {
    const s = await fx.stack(`ws://127.0.0.1:${await freePort()}`);
    await firstFailure(s);
    await expectSchedule(s, [
      [1_000, 3_000],
      [3_000, 7_000],
      [7_000, 15_000],
      [15_000, 20_000],
    ]);
    // Nothing reached the (refusing) relay, so the reset must be told to discard this device's record.
    await s.manager.reset({ discardUnsynced: true });
    const initAt = s.clock.now();
    const authKey = Buffer.alloc(32, 9).toString("base64");
    await s.manager.initialize({ authKey, deviceName: "laptop", platform: "linux" });
    assert.deepEqual(s.sockets.slice(6), [initAt, initAt], "account check + attempt 1 at init");
    await waitFor(() => s.health().lastError?.at === initAt && s.health().nextRetryAt !== null);
    assert.equal(s.health().nextRetryAt, initAt + 1_000);
  });

  it("a manager that is shutting down makes no attempt, scheduled or asked for", async () => {
    const s = await fx.stack(`ws://127.0.0.1:${await freePort()}`);
    await firstFailure(s);
    // Connecting stops at once (the machine's "closing"); the cache closes a few steps later.
    const closing = s.manager.shutdown();
    assert.equal(s.health().nextRetryAt, null);
    s.clock.advance(60_000);
    s.manager.pause();
    s.manager.resume(); // emits connectionWanted
    assert.deepEqual(offsets(s.sockets, s.t0), [0, 0]);
    await closing;
  });

  it("sync.error says when the next attempt is: retryInMs 1, 2, 4, 8 s, then the probe interval", async () => {
    const s = await fx.stack(`ws://127.0.0.1:${await freePort()}`);
    await firstFailure(s);
    await expectSchedule(s, [
      [1_000, 3_000],
      [3_000, 7_000],
      [7_000, 15_000],
      [15_000, 20_000],
    ]);
    assert.deepEqual(
      s.errors.map((e) => [e.at - s.t0, e.retryInMs, e.code]),
      [
        [0, 1_000, ErrorCode.NetworkUnreachable],
        [1_000, 2_000, ErrorCode.NetworkUnreachable],
        [3_000, 4_000, ErrorCode.NetworkUnreachable],
        [7_000, 8_000, ErrorCode.NetworkUnreachable],
        [15_000, 5_000, ErrorCode.NetworkUnreachable],
      ],
    );
  });

  it("a joining device refused with 401 is not retried either", {}, async () => {
    const { f, s } = await fx.fronted({ status: 401 }, { init: false });
    await s.init({ join: true });
    // sync.error 1: init's open() of the account; 2: attempt 1 (which opens it again).
    await waitFor(() => s.errors.length >= 2, { what: "attempt 1 to fail" });
    assert.deepEqual(offsets(f.seen, s.t0), [0, 0]);
    assert.equal(s.health().nextRetryAt, null);
  });

  it("after a 429 burst, probes still wait at least Retry-After", {}, async () => {
    const { s } = await fx.fronted({ status: 429, headers: { "retry-after": "7" } });
    await firstFailure(s);
    await expectSchedule(s, [
      [7_000, 14_000],
      [14_000, 21_000],
    ]);
  });
});
