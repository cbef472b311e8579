// The connection budget over a real socket, on a fake clock (docs/protocol.md, "Limits and
// timeouts"): idle connections beyond the budget are closed idle-longest first, subscribed and
// busy ones never; at the ceiling a new connection is refused; idle connections time out; every
// connection closed this way first gets one JSON-RPC error line; one warning per burst.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RpcError } from "../../src/client/errors.js";
import { SyncClient } from "../../src/client/SyncClient.js";
import { ErrorCode } from "../../src/protocol.js";
import { FakeClock } from "../helpers/fakeClock.js";
import { waitFor } from "../helpers/wait.js";
import { startHarness, type Harness, type TestClient, type Wire } from "./helpers.js";

/**
 * Waits for the server to close `c` and returns the line it sent last, which says why: an error with
 * id null. `answered` lines came before it (answers to the test's own requests).
 */
async function closedWith(c: TestClient, reason: string, what: string, answered = 1): Promise<Wire> {
  await waitFor(() => c.closed, { what: `${what} to be closed` });
  assert.equal(c.lines.length, answered + 1, `${what}: its answers, then one line: ${c.lines.join("|")}`);
  const line = c.flat.at(-1)!;
  assert.deepEqual([line.jsonrpc, line.id], ["2.0", null], what);
  assert.equal(line.error?.code, ErrorCode.RateLimited, what);
  assert.equal(line.error?.data.reason, reason, what);
  assert.equal(typeof line.error?.data.hint, "string", what);
  return line;
}

/** Connects and pings: the server has accepted the connection, its last activity is `clock.now()`. */
async function connectActive(h: Harness): Promise<TestClient> {
  const c = await h.connect();
  assert.equal((await c.call("daemon.ping")).result?.pong, true);
  return c;
}

async function assertServed(c: TestClient, what: string): Promise<void> {
  assert.equal(c.closed, false, `${what} is open`);
  assert.equal((await c.call("daemon.ping")).result?.pong, true, `${what} is served`);
}

function warnings(h: Harness): { msg: string; evicted?: number; refused?: number }[] {
  return h.logLines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40);
}

function summaries(h: Harness): { evicted: number; refused: number }[] {
  return h.logLines
    .map((l) => JSON.parse(l) as { msg: string; evicted: number; refused: number })
    .filter((l) => l.msg === "IPC connection burst over");
}

describe("IPC connection budget", () => {
  it("closes the idle connection idle the longest, never a subscribed one or one with a request in flight", async () => {
    const clock = new FakeClock();
    const h = await startHarness({ clock, limits: { maxIdleConnections: 2, maxConnections: 10 } });
    try {
      // The oldest connections: one subscribed, one waiting for its answer.
      const subscriber = await h.connect();
      await subscriber.call("daemon.subscribe", { events: ["sync.error"] });
      const busy = await h.connect();
      await busy.send(`{"jsonrpc":"2.0","id":"slow","method":"daemon.metrics"}\n`);
      await waitFor(() => h.ctl.slowStarted === 1, { what: "the slow request started" });
      clock.advance(10);
      const a = await connectActive(h);
      clock.advance(10);
      const b = await connectActive(h);
      clock.advance(10);
      await a.call("daemon.ping"); // a is older than b, but active more recently
      clock.advance(10);

      const c = await connectActive(h);
      await closedWith(b, "too_many_connections", "b (idle the longest)");
      const d = await connectActive(h);
      await closedWith(a, "too_many_connections", "a", 2);
      const e = await connectActive(h); // c and d were last active at the same time: the older goes
      const evicted = await closedWith(c, "too_many_connections", "c");
      assert.equal(evicted.error?.data.limit, 2);

      await assertServed(d, "d");
      await assertServed(e, "e");
      await assertServed(subscriber, "the subscriber");
      assert.equal(busy.closed, false, "the busy connection is open");
      h.ctl.slowGate.resolve();
      assert.equal((await busy.responseTo("slow")).result?.text, "slow done");
      assert.equal(busy.lines.length, 1, "the busy connection got only its answer");
    } finally {
      await h.cleanup();
    }
  });

  it("refuses a new connection with an error line when every connection at the ceiling is busy or subscribed", async () => {
    const h = await startHarness({ limits: { maxIdleConnections: 5, maxConnections: 3 } });
    try {
      const subscribers = [await h.connect(), await h.connect()];
      for (const s of subscribers) await s.call("daemon.subscribe", {});
      const busy = await h.connect();
      await busy.send(`{"jsonrpc":"2.0","id":"slow","method":"daemon.metrics"}\n`);
      await waitFor(() => h.ctl.slowStarted === 1, { what: "the slow request started" });

      const refused = await h.connect();
      const line = await closedWith(refused, "too_many_connections", "the refused connection", 0);
      assert.equal(line.error?.data.limit, 3);
      assert.equal(line.error?.data.retryAfterMs, 1000);
      // A client that sent its request at once gets the refusal as the answer to it.
      await assert.rejects(
        SyncClient.connect({ socketPath: h.socketPath }).then((c) => c.ping()),
        (err) => {
          assert.ok(err instanceof RpcError, String(err));
          assert.deepEqual([err.code, err.data?.reason], [ErrorCode.RateLimited, "too_many_connections"]);
          return true;
        },
      );

      // Once its request is answered, the busy connection is idle and makes room.
      h.ctl.slowGate.resolve();
      await busy.responseTo("slow");
      const next = await connectActive(h);
      await waitFor(() => busy.closed, { what: "the formerly busy connection to be closed" });
      const evicted = busy.flat[1]!;
      assert.deepEqual(
        [evicted.id, evicted.error?.code, evicted.error?.data.reason],
        [null, ErrorCode.RateLimited, "too_many_connections"],
      );
      for (const s of subscribers) await assertServed(s, "a subscriber");
      await assertServed(next, "the new connection");
    } finally {
      await h.cleanup();
    }
  });

  it("closes a connection idle for idleTimeoutMs with an error line, but not a subscriber or a busy one", async () => {
    const clock = new FakeClock();
    const h = await startHarness({ clock, limits: { idleTimeoutMs: 1000 } });
    try {
      const idle = await connectActive(h);
      const subscriber = await h.connect();
      await subscriber.call("daemon.subscribe", { events: ["sync.stateChange"] });
      const busy = await h.connect();
      await busy.send(`{"jsonrpc":"2.0","id":"slow","method":"daemon.metrics"}\n`);
      await waitFor(() => h.ctl.slowStarted === 1, { what: "the slow request started" });
      const later = await connectActive(h);
      clock.advance(600);
      await later.call("daemon.ping"); // active at 600: its timeout runs from there

      clock.advance(400);
      const line = await closedWith(idle, "idle_timeout", "the idle connection");
      assert.equal(line.error?.data.idleTimeoutMs, 1000);
      clock.advance(600);
      await closedWith(later, "idle_timeout", "the connection active at 600", 2);

      h.ctl.slowGate.resolve();
      await busy.responseTo("slow");
      assert.equal(busy.closed, false, "the busy connection was not closed while its request ran");
      clock.advance(1000); // idle from its answer on
      await waitFor(() => busy.closed, { what: "the formerly busy connection to time out" });
      assert.equal(busy.flat[1]?.error?.data.reason, "idle_timeout");

      clock.advance(10 * 60_000);
      await assertServed(subscriber, "the subscriber, long after the timeout");
      await subscriber.call("daemon.unsubscribe", {});
      clock.advance(1000);
      await waitFor(() => subscriber.closed, { what: "the unsubscribed connection to time out" });
      assert.equal(subscriber.flat.at(-1)?.error?.data.reason, "idle_timeout");
    } finally {
      await h.cleanup();
    }
  });

  it("logs one warning per burst of closed connections and sums each burst up once it is over", async () => {
    const clock = new FakeClock();
    const h = await startHarness({
      clock,
      captureLog: true,
      limits: { maxIdleConnections: 2, crowdQuietMs: 5000 },
    });
    try {
      const first: TestClient[] = [];
      for (let i = 0; i < 10; i++) {
        first.push(await connectActive(h));
        clock.advance(100); // closer together than crowdQuietMs: one burst
      }
      await waitFor(() => first.filter((c) => c.closed).length === 8, { what: "8 evictions" });
      assert.equal(warnings(h).length, 1, JSON.stringify(warnings(h)));
      assert.equal(warnings(h)[0]!.evicted, 1);
      assert.deepEqual(summaries(h), [], "the burst is not over yet");
      clock.advance(5000);
      assert.deepEqual(
        summaries(h).map((s) => [s.evicted, s.refused]),
        [[8, 0]],
      );

      const second: TestClient[] = [];
      for (let i = 0; i < 3; i++) second.push(await connectActive(h));
      await waitFor(() => first.filter((c) => c.closed).length === 10 && second[0]!.closed, {
        what: "3 more evictions",
      });
      assert.equal(warnings(h).length, 2, "a second burst warns once more");
      clock.advance(5000);
      assert.deepEqual(
        summaries(h).map((s) => [s.evicted, s.refused]),
        [
          [8, 0],
          [3, 0],
        ],
      );
    } finally {
      await h.cleanup();
    }
  });
});
