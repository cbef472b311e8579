// The connection machine as transcripts: each event and the effects it produces, in order. The
// machine is pure, so these run without a cache, a Remote or a clock; the last test checks that
// its runner keeps that order when a listener raises an event of its own.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  INITIAL_CONNECTION,
  step,
  type ConnectionEffect,
  type ConnectionEvent,
  type ConnectionState,
  type MachineEnv,
} from "../../src/sync/connectionMachine.js";
import { RemoteConnectError } from "../../src/sync/remote.js";
import { FakeRemote } from "./fakeRemote.js";
import { harness } from "./support.js";

const T0 = 1_700_000_000_000;

/** Feeds events and records one transcript line per event: `event → effect, effect, …`. */
class Run {
  c: ConnectionState = INITIAL_CONNECTION;
  now = T0;
  readonly lines: string[] = [];

  constructor(private readonly env: Partial<MachineEnv> = {}) {}

  send(...events: ConnectionEvent[]): this {
    for (const event of events) {
      const { next, effects } = step(this.c, event, {
        now: this.now,
        hasRemote: true,
        autoConnect: true,
        syncIntervalMs: 5_000,
        random: () => 0.5,
        ...this.env,
      });
      this.c = next;
      this.lines.push(`${event.type} → ${effects.map(show).join(", ") || "–"}`);
    }
    return this;
  }

  /** Moves time on (the machine only sees it in the next event's env). */
  at(offsetMs: number): this {
    this.now = T0 + offsetMs;
    return this;
  }

  take(): string[] {
    return this.lines.splice(0);
  }
}

function show(e: ConnectionEffect): string {
  if (e.type === "stateChange") return `${e.from}>${e.to}`;
  if (e.type === "scheduleRetry") return `retry in ${e.delayMs}`;
  if (e.type === "notifyError") return `sync.error ${e.error.reason} retryInMs=${e.error.retryInMs}`;
  if (e.type === "connectionWanted") return `wanted(${e.reason})`;
  if (e.type === "persistPaused") return `persistPaused(${e.paused})`;
  if (e.type === "stopTimers") return `stopTimers(${e.which})`;
  return e.type;
}

const refused = {
  kind: "network",
  message: "connect ECONNREFUSED 127.0.0.1:9",
  errno: "ECONNREFUSED",
} as const;
const dropped = { kind: "network", message: "socket hang up" } as const;

/** A machine that went through start-up and connected. */
function online(env: Partial<MachineEnv> = {}): Run {
  const run = new Run(env).send({ type: "opening", paused: false }, { type: "opened", reason: "start" });
  run.send({ type: "connected" });
  run.take();
  return run;
}

describe("connection machine", () => {
  it("start-up: INITIALIZING, OFFLINE, then one attempt at once; success goes ONLINE in a fixed order", () => {
    const run = new Run().send({ type: "opening", paused: false }, { type: "opened", reason: "start" });
    run.send({ type: "connected" });
    assert.deepEqual(run.take(), [
      "opening → UNINITIALIZED>INITIALIZING",
      "opened → INITIALIZING>OFFLINE, startExpiryTimer, wanted(start), attempt",
      "connected → OFFLINE>ONLINE, markSynced, saveRootId, refreshLastSeen, startLastSeenTimer, upload, checkIntegrity",
    ]);
    assert.equal(run.c.phase, "connected");
  });

  it("a drop: stop lastSeen, OFFLINE, schedule the retry, announce it, then want a connection", () => {
    const run = online();
    run.at(10_000).send({ type: "dropped", failure: dropped });
    assert.deepEqual(run.take(), [
      "dropped → stopTimers(lastSeen), ONLINE>OFFLINE, retry in 1000, " +
        "sync.error relay_connection_lost retryInMs=1000, wanted(disconnected)",
    ]);
    assert.equal(run.c.retryAt, T0 + 11_000);
    assert.deepEqual(run.c.lastError, {
      code: -32003,
      reason: "relay_connection_lost",
      message: "relay connection closed",
      fatal: false,
      at: T0 + 10_000,
    });
  });

  it("failed attempts follow the seed's table: 1, 2, 4, 8 s, then probes; retryAt holds while one runs", () => {
    const run = new Run().send({ type: "opening", paused: false }, { type: "opened", reason: "init" });
    run.take();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      run.send({ type: "attemptFailed", source: { during: "connect", failure: refused } });
      delays.push(run.c.retryAt! - run.now);
      const due = run.c.retryAt!;
      run.at(due - T0).send({ type: "retryDue" });
      assert.equal(run.c.phase, "connecting");
      assert.equal(run.c.retryAt, due, "health still shows the attempt it is making");
    }
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 5_000, 5_000]);
    assert.equal(run.c.lastError?.message, "relay unreachable (ECONNREFUSED)");
  });

  it("an auth failure stops retrying and is fatal; resume starts a fresh burst at once", () => {
    const run = new Run().send({ type: "opening", paused: false }, { type: "opened", reason: "init" });
    run.take();
    run.send({
      type: "attemptFailed",
      source: { during: "connect", failure: { kind: "auth", message: "401", status: 401 } },
    });
    assert.deepEqual(run.take(), ["attemptFailed → sync.error auth_refused retryInMs=null"]);
    assert.equal(run.c.phase, "idle");
    assert.equal(run.c.lastError?.fatal, true);
    run.send({ type: "pause" }, { type: "resume" });
    assert.deepEqual(run.take(), [
      "pause → persistPaused(true)",
      "resume → wanted(resume), attempt, persistPaused(false)",
    ]);
  });

  it("pause while ONLINE disconnects, goes OFFLINE and plans nothing; an attempt landing after it is dropped", () => {
    const run = online();
    run.send({ type: "pause" });
    assert.deepEqual(run.take(), [
      "pause → disconnect, stopTimers(lastSeen), ONLINE>OFFLINE, persistPaused(true)",
    ]);
    run.send({ type: "attempt" }, { type: "connected" });
    assert.deepEqual(run.take(), ["attempt → –", "connected → disconnect"]);
    assert.equal(run.c.state, "OFFLINE");
  });

  it("pause while waiting cancels the scheduled retry", () => {
    const run = new Run().send({ type: "opening", paused: false }, { type: "opened", reason: "init" });
    run.send({ type: "attemptFailed", source: { during: "connect", failure: refused } });
    run.take();
    run.send({ type: "pause" }, { type: "retryDue" });
    assert.deepEqual(run.take(), ["pause → cancelRetry, persistPaused(true)", "retryDue → –"]);
    assert.equal(run.c.retryAt, null);
  });

  it("without autoConnect nothing starts by itself, but a failed attempt is still retried", () => {
    const run = new Run({ autoConnect: false }).send(
      { type: "opening", paused: false },
      { type: "opened", reason: "init" },
    );
    run.send({ type: "attempt" }, { type: "attemptFailed", source: { during: "connect", failure: refused } });
    assert.deepEqual(run.take(), [
      "opening → UNINITIALIZED>INITIALIZING",
      "opened → INITIALIZING>OFFLINE, startExpiryTimer, wanted(init)",
      "attempt → attempt",
      "attemptFailed → retry in 1000, sync.error relay_unreachable retryInMs=1000",
    ]);
  });

  it("an open() failure inside an attempt is that attempt's failure, classified as the Remote said", () => {
    const run = new Run().send({ type: "opening", paused: false }, { type: "opened", reason: "init" });
    run.take();
    const error = new RemoteConnectError({ kind: "rateLimited", message: "429", retryAfterMs: 7_000 });
    run.send({ type: "attemptFailed", source: { during: "open", error } });
    assert.deepEqual(run.take(), [
      "attemptFailed → retry in 7000, sync.error relay_rate_limited retryInMs=7000",
    ]);
  });

  it("a local identity with a Remote is fatal and never connects", () => {
    const run = new Run().send(
      { type: "opening", paused: false },
      { type: "openFailed", source: { during: "localIdentity" } },
    );
    run.send({ type: "opened", reason: "start" });
    assert.deepEqual(run.take(), [
      "opening → UNINITIALIZED>INITIALIZING",
      "openFailed → sync.error local_identity retryInMs=null",
      "opened → INITIALIZING>OFFLINE, startExpiryTimer, wanted(start)",
    ]);
    assert.equal(run.c.lastError?.fatal, true);
  });

  it("shutdown keeps an established link for the final upload and plans nothing more", () => {
    const run = online();
    run.send({ type: "closing" }, { type: "dropped", failure: dropped }, { type: "resume" });
    assert.deepEqual(run.take(), [
      "closing → stopTimers(all)",
      "dropped → stopTimers(lastSeen), ONLINE>OFFLINE, sync.error relay_connection_lost retryInMs=null, wanted(disconnected)",
      "resume → wanted(resume), persistPaused(false)",
    ]);
  });

  it("reset: no attempts while forgetting, then UNINITIALIZED with nothing left of the old identity", () => {
    const run = new Run().send({ type: "opening", paused: true }, { type: "opened", reason: "start" });
    run.send({ type: "forgetting" }, { type: "forgotten" });
    assert.deepEqual(run.take().slice(2), [
      "forgetting → stopTimers(all)",
      "forgotten → OFFLINE>UNINITIALIZED",
    ]);
    assert.deepEqual(run.c, INITIAL_CONNECTION);
  });
});

describe("relay connection (the machine's runner)", () => {
  it("runs each event to completion: a pause() from a stateChange listener comes after the connection's effects", async () => {
    const remote = new FakeRemote();
    const h = await harness({ remote });
    try {
      const states: string[] = [];
      h.manager.on("stateChange", (e) => {
        states.push(e.to);
        if (e.to === "ONLINE") h.manager.pause();
      });
      await h.manager.connect();
      assert.deepEqual(states, ["ONLINE", "OFFLINE"]);
      assert.equal(h.manager.healthReport().paused, true);
      assert.equal(remote.session.connected, false);
      // The lastSeen timer that going ONLINE started was stopped by the pause that followed it:
      // only the queue TTL check is left.
      assert.equal(h.clock.pendingTimers(), 1);
    } finally {
      await h.cleanup();
    }
  });
});
