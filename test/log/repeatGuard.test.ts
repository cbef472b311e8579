import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { createLogger, type LogLevel } from "../../src/log/logger.js";
import { duration, failureKey, RepeatGuard } from "../../src/log/repeatGuard.js";
import { FakeClock } from "../helpers/fakeClock.js";

interface Line {
  level: number;
  msg: string;
  err?: { type: string; message: string; stack: string };
  repeated?: number;
  failures?: number;
  overMs?: number;
  [field: string]: unknown;
}

function setup(opts: { level?: LogLevel; summaryEveryMs?: number } = {}) {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString("utf8").split("\n").filter(Boolean)) lines.push(JSON.parse(l) as Line);
      done();
    },
  });
  const clock = new FakeClock();
  const logger = createLogger({ level: opts.level ?? "info", destination: stream });
  const guard = new RepeatGuard({
    logger,
    clock,
    level: "error",
    msg: "could not open the sync account",
    recoveredMsg: "opened the sync account",
    ...(opts.summaryEveryMs === undefined ? {} : { summaryEveryMs: opts.summaryEveryMs }),
  });
  /** One line per log entry: "level msg" plus the fields that matter here, a readable transcript. */
  const transcript = () =>
    lines.map((l) => {
      const extra = [
        l.err ? `stack=${l.err.stack.split("\n")[0]}` : "",
        l.repeated !== undefined ? `repeated=${l.repeated} overMs=${l.overMs}` : "",
        l.failures !== undefined ? `failures=${l.failures} overMs=${l.overMs}` : "",
      ].filter(Boolean);
      return [l.level, l.msg, ...extra].join(" | ");
    });
  return { lines, clock, guard, transcript };
}

class RemoteConnectError extends Error {
  override name = "RemoteConnectError";
}
const http503 = () => new RemoteConnectError("relay answered HTTP 503");
const refused = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });

describe("RepeatGuard", () => {
  it("logs the first failure with its stack, then counts the same failure every summary period", () => {
    const { clock, guard, transcript, lines } = setup();
    // A probe every 5 s for 25 minutes: 301 failures.
    for (let i = 0; i <= 300; i++) {
      guard.failed({ err: http503(), fields: { attempt: i } });
      clock.advance(5_000);
    }
    assert.deepEqual(transcript(), [
      "50 | could not open the sync account | stack=RemoteConnectError: relay answered HTTP 503",
      "50 | could not open the sync account: the same failure 120 more times over 10 min | repeated=120 overMs=600000",
      "50 | could not open the sync account: the same failure 120 more times over 10 min | repeated=120 overMs=600000",
    ]);
    assert.equal(lines[0]?.attempt, 0, "the full line carries the caller's fields");
    assert.equal(lines.filter((l) => l.err).length, 1, "one stack trace for 301 failures");
    assert.equal(lines[1]?.failure, "RemoteConnectError: relay answered HTTP 503");
    assert.equal(lines[1]?.err, undefined, "a summary has no stack");
  });

  it("logs a different failure in full again, after the count of the previous one", () => {
    const { clock, guard, transcript } = setup();
    for (let i = 0; i < 4; i++) {
      guard.failed({ err: http503() });
      clock.advance(1_000);
    }
    guard.failed({ err: refused() });
    clock.advance(1_000);
    guard.failed({ err: refused() });
    guard.failed({ err: http503() });
    assert.deepEqual(transcript(), [
      "50 | could not open the sync account | stack=RemoteConnectError: relay answered HTTP 503",
      "50 | could not open the sync account: the same failure 3 more times over 4 s | repeated=3 overMs=4000",
      "50 | could not open the sync account | stack=Error: connect ECONNREFUSED 127.0.0.1:9",
      "50 | could not open the sync account: the same failure 1 more time over 1 s | repeated=1 overMs=1000",
      "50 | could not open the sync account | stack=RemoteConnectError: relay answered HTTP 503",
    ]);
  });

  it("logs recovery once, with how many failures and for how long; nothing when nothing failed", () => {
    const { clock, guard, transcript } = setup();
    guard.recovered();
    assert.deepEqual(transcript(), [], "a success with no failure before it says nothing");
    for (let i = 0; i < 36; i++) {
      guard.failed({ err: http503() });
      clock.advance(5_000);
    }
    guard.recovered({ how: "relay" });
    guard.recovered();
    assert.deepEqual(transcript(), [
      "50 | could not open the sync account | stack=RemoteConnectError: relay answered HTTP 503",
      "50 | could not open the sync account: the same failure 35 more times over 3 min | repeated=35 overMs=180000",
      "30 | opened the sync account after 36 failures over 3 min | failures=36 overMs=180000",
    ]);
    // After recovery the same failure is news again.
    guard.failed({ err: http503() });
    assert.equal(transcript().length, 4);
    assert.match(transcript()[3] ?? "", /stack=RemoteConnectError/);
  });

  it("shows every repeat as one short line at debug level", () => {
    const { guard, lines } = setup({ level: "debug" });
    guard.failed({ err: http503() });
    guard.failed({ err: http503() });
    guard.failed({ err: http503() });
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg, l.repeat, l.err === undefined]),
      [
        [50, "could not open the sync account", undefined, false],
        [20, "could not open the sync account (again)", 2, true],
        [20, "could not open the sync account (again)", 3, true],
      ],
    );
  });

  it("takes an explicit key for failures that are not errors", () => {
    const { guard, lines } = setup();
    guard.failed({ key: "network: ECONNREFUSED", fields: { nextRetryAt: 1 } });
    guard.failed({ key: "network: ECONNREFUSED", fields: { nextRetryAt: 2 } });
    guard.failed({ key: "timeout: no answer", fields: { nextRetryAt: 3 } });
    assert.deepEqual(
      lines.map((l) => [l.msg, l.nextRetryAt ?? l.repeated]),
      [
        ["could not open the sync account", 1],
        ["could not open the sync account: the same failure 1 more time over 0 ms", 1],
        ["could not open the sync account", 3],
      ],
    );
  });

  it("names a failure by type, code and message", () => {
    assert.equal(failureKey(http503()), "RemoteConnectError: relay answered HTTP 503");
    assert.equal(failureKey(refused()), "Error [ECONNREFUSED]: connect ECONNREFUSED 127.0.0.1:9");
    assert.equal(failureKey({ kind: "server", message: "HTTP 503" }), "server: HTTP 503");
    assert.equal(failureKey("boom"), "boom");
    assert.deepEqual([850, 12_500, 600_000, 7_200_000].map(duration), ["850 ms", "12 s", "10 min", "2 h"]);
  });
});
