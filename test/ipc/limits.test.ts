// Bounded memory and flow control over a real socket: oversize lines, endless lines, arbitrary
// chunking, clients that never read, the in-flight cap and the notification drop policy (SPEC §2).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ErrorCode, MAX_LINE_BYTES } from "../../src/protocol.js";
import { waitFor } from "../helpers/wait.js";
import { deferred, startHarness, type Harness } from "./helpers.js";
import { mulberry32 } from "./prng.js";

const ping = (id: unknown) => `${JSON.stringify({ jsonrpc: "2.0", id, method: "daemon.ping" })}\n`;
/** A request padded with spaces inside the object to exactly `bytes` bytes. */
function paddedPing(id: number, bytes: number): string {
  const head = `{"jsonrpc":"2.0","id":${id},"method":"daemon.ping"`;
  return `${head}${" ".repeat(bytes - head.length - 1)}}`;
}

describe("IPC limits and flow control", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.cleanup());

  it("answers a line over 1 MiB with -32006 and data.limit, then keeps serving the connection", async () => {
    const c = await h.connect();
    await c.send(`${paddedPing(1, MAX_LINE_BYTES)}\r\n`);
    assert.equal((await c.next()).id, 1, "a line of exactly the limit is served");
    await c.send(`${paddedPing(2, MAX_LINE_BYTES + 1)}\n`);
    const r = await c.next();
    assert.deepEqual(
      [r.id, r.error?.code, r.error?.data],
      [2, ErrorCode.PayloadTooLarge, { reason: "payload_too_large", limit: MAX_LINE_BYTES }],
      "the id is read from the line's first bytes",
    );
    await c.send(ping("next"));
    assert.equal((await c.next()).id, "next");
  });

  it("answers an over-long line with its id when the first bytes show it, else with id null", async () => {
    const c = await h.connect();
    const big = "x".repeat(MAX_LINE_BYTES);
    const cases: [string, unknown][] = [
      [`{"jsonrpc":"2.0","id":"push-7","method":"sync.push","params":{"entries":["${big}"]}}`, "push-7"],
      [`\ufeff{ "id" : 18446744073709551615 , "params": "${big}"}`, "18446744073709551615"],
      [`{"jsonrpc":"2.0","method":"sync.push","params":{"entries":["${big}"]},"id":3}`, null],
      [`[{"jsonrpc":"2.0","id":4,"method":"daemon.ping","params":{"p":"${big}"}}]`, null],
      [`{"id":{"nested":1},"params":"${big}"}`, null],
    ];
    for (const [line, id] of cases) {
      const index = c.lines.length;
      await c.send(`${line}\n`);
      const r = await c.next("the -32006 answer");
      assert.equal(r.error?.code, ErrorCode.PayloadTooLarge, line.slice(0, 60));
      // A number is echoed from its source text, like any id: check the raw line for it.
      if (typeof id === "string" && /^\d+$/.test(id))
        assert.ok(c.lines[index]!.startsWith(`{"jsonrpc":"2.0","id":${id},`), c.lines[index]!.slice(0, 80));
      else assert.equal(r.id, id, line.slice(0, 60));
    }
    await c.send(ping("still-served"));
    assert.equal((await c.next()).id, "still-served");
  });

  it("does not buffer 5 MiB sent without a newline while other clients keep being answered", async () => {
    const flood = await h.connect();
    const other = await h.connect();
    let peak = 0;
    const sample = () => (peak = Math.max(peak, h.server.stats().bufferedInputBytes));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const flooding = (async () => {
      for (let sent = 0; sent < 5 * 1024 * 1024; sent += chunk.length) {
        await flood.send(chunk);
        sample();
      }
    })();
    for (let i = 0; i < 50; i++) {
      assert.equal((await other.call("daemon.ping", {}, `o${i}`))?.result?.pong, true);
      sample();
    }
    await flooding;
    const tooLarge = await flood.next("the -32006 for the endless line");
    assert.equal(tooLarge.error?.code, ErrorCode.PayloadTooLarge);
    await flood.send(`\n${ping("after-flood")}`);
    assert.equal((await flood.next()).id, "after-flood");
    assert.ok(peak <= MAX_LINE_BYTES + 1 + 2 * chunk.length, `server buffered up to ${peak} bytes`);
    assert.equal(flood.lines.length, 2, "exactly one error for the endless line");
  });

  it("gives the same answers however the input is chunked, including inside multi-byte characters", async () => {
    const ids = Array.from({ length: 300 }, (_, i) => `id-${i}-é€😀𝄞`);
    const input = Buffer.from(
      ids.map((id, i) => (i % 7 === 0 ? `${ping(id).trimEnd()}\r\n\n` : ping(id))).join(""),
    );
    for (const seed of [1, 2, 3]) {
      const rnd = mulberry32(seed);
      const c = await h.connect();
      for (let i = 0; i < input.length;) {
        const n = 1 + Math.floor(rnd() * 17);
        await c.send(input.subarray(i, i + n));
        // Let the server read each piece on its own, so lines really arrive split.
        if (rnd() < 0.3) await new Promise((r) => setImmediate(r));
        i += n;
      }
      await waitFor(() => c.lines.length >= ids.length, { what: `all answers (seed ${seed})` });
      assert.deepEqual(c.flat.map((m) => m.id).sort(), [...ids].sort(), `seed ${seed}`);
      c.destroy();
    }
  });

  it("stops reading from a client that never reads, so responses do not pile up", async () => {
    const c = await h.connect();
    c.socket.pause();
    const total = 50_000;
    const pingsBefore = h.ctl.pings;
    void c.send(Array.from({ length: total }, (_, i) => ping(i)).join(""));
    await waitFor(() => h.server.stats().writeBlocked > 0, { what: "the server to see a blocked writer" });
    const stats = h.server.stats();
    assert.ok(stats.readPaused > 0, "input paused");
    assert.ok(stats.pendingOutputBytes < 1024 * 1024, `pending output ${stats.pendingOutputBytes}`);
    assert.ok(h.ctl.pings - pingsBefore < total, "requests are not all taken while the client does not read");
    // Other clients are unaffected.
    assert.equal((await (await h.connect()).call("daemon.ping"))?.result?.pong, true);
    c.socket.resume();
    await waitFor(() => c.lines.length === total, {
      what: "every response once the client reads",
      timeoutMs: 30_000,
    });
    assert.equal(h.ctl.pings - pingsBefore >= total, true);
    assert.equal(h.server.stats().writeBlocked, 0);
  });

  it("runs at most 64 requests of one connection at once and pauses its input at the cap", async () => {
    h.ctl.slowGate = deferred();
    h.ctl.slowStarted = 0;
    const c = await h.connect();
    const slow = Array.from(
      { length: 100 },
      (_, i) => `{"jsonrpc":"2.0","id":"s${i}","method":"daemon.metrics"}\n`,
    );
    await c.send(slow.join("") + ping("queued-ping"));
    await waitFor(() => h.ctl.slowStarted === 64, { what: "64 slow requests started" });
    // Another client's answer shows the server made progress; the capped connection did not.
    assert.equal((await (await h.connect()).call("daemon.ping"))?.result?.pong, true);
    assert.equal(h.ctl.slowStarted, 64);
    assert.equal(h.server.inFlight(), 64);
    assert.equal(c.lines.length, 0);
    h.ctl.slowGate.resolve();
    await waitFor(() => c.lines.length === 101, { what: "all 101 answers" });
    assert.equal(h.ctl.slowStarted, 100);
    assert.ok(c.flat.some((m) => m.id === "queued-ping"));
  });

  it("bounds the notification queue of a slow subscriber and reports each run of dropped ones in place", async () => {
    const c = await h.connect();
    await c.call("daemon.subscribe", { events: ["sync.error"] }, "sub");
    const connection = [...h.ctl.subscribers].at(-1)!;
    c.socket.pause();
    const total = 5000;
    const message = "m".repeat(1024);
    for (let i = 0; i < total; i++)
      connection.notify("sync.error", { code: -32003, reason: "relay_unreachable", message, retryInMs: i });
    const stats = h.server.stats();
    assert.ok(stats.queuedNotifications <= 1000, `queued ${stats.queuedNotifications}`);
    assert.ok(stats.writeBlocked > 0);
    c.socket.resume();
    // Every notification is either received or counted in a drop report, in order.
    let expected = 0;
    let dropped = 0;
    await waitFor(
      () => {
        expected = 0;
        dropped = 0;
        for (const m of c.flat.slice(1)) {
          if (m.method === "sync.error") {
            assert.equal(
              m.params?.retryInMs,
              expected,
              "notifications arrive in order, gaps reported in place",
            );
            expected++;
          } else {
            assert.equal(m.method, "daemon.notificationsDropped");
            const count = m.params?.dropped;
            assert.ok(typeof count === "number" && count > 0);
            expected += count;
            dropped += count;
          }
        }
        return expected === total;
      },
      { what: "all notifications accounted for" },
    );
    assert.ok(dropped > 0, "some notifications were dropped");
    assert.ok(dropped < total - 1000, `dropped ${dropped}`);
  });
});
