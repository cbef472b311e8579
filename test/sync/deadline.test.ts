// withDeadline, the one way the daemon bounds a wait: on the injected clock, with an abort signal,
// and never leaving a timer behind.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { withDeadline } from "../../src/sync/deadline.js";
import { FakeClock } from "../helpers/fakeClock.js";

/** A promise with its resolve function, to settle it when the test says so. */
function pending<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("withDeadline", () => {
  it("settles like the work when it finishes in time, and clears its timer", async () => {
    const clock = new FakeClock();
    const work = pending<string>();
    const result = withDeadline(work.promise, { ms: 1_000, clock, onTimeout: () => "late" });
    clock.advance(999);
    work.resolve("done");
    assert.equal(await result, "done");
    assert.equal(clock.pendingTimers(), 0);
  });

  it("passes a rejection of the work through", async () => {
    const clock = new FakeClock();
    const result = withDeadline(Promise.reject(new Error("failed")), {
      ms: 1_000,
      clock,
      onTimeout: () => 0,
    });
    await assert.rejects(result, /failed/);
    assert.equal(clock.pendingTimers(), 0);
  });

  it("ends with onTimeout when the clock reaches the deadline first; a throwing onTimeout rejects", async () => {
    const clock = new FakeClock();
    const work = pending<string>();
    const ended: string[] = [];
    const result = withDeadline(work.promise, {
      ms: 1_000,
      clock,
      onTimeout: (why) => {
        ended.push(why);
        return "late";
      },
    });
    clock.advance(1_000);
    assert.equal(await result, "late");
    work.resolve("done"); // too late: dropped
    assert.deepEqual(ended, ["timeout"]);
    const failing = withDeadline(pending<void>().promise, {
      ms: 10,
      clock,
      onTimeout: () => {
        throw new Error("gave up");
      },
    });
    clock.advance(10);
    await assert.rejects(failing, /gave up/);
  });

  it("ends at once when its signal aborts, before or during the wait", async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const result = withDeadline(pending<string>().promise, {
      ms: 60_000,
      clock,
      signal: controller.signal,
      onTimeout: (why) => why,
    });
    controller.abort();
    assert.equal(await result, "aborted");
    assert.equal(clock.pendingTimers(), 0);
    const already = withDeadline(pending<string>().promise, {
      ms: 60_000,
      clock,
      signal: controller.signal,
      onTimeout: (why) => why,
    });
    assert.equal(await already, "aborted");
    assert.equal(clock.pendingTimers(), 0);
  });

  it("with ms <= 0 waits for nothing on the clock, yet work already settled still counts", async () => {
    const clock = new FakeClock();
    assert.equal(
      await withDeadline(pending<string>().promise, { ms: 0, clock, onTimeout: () => "now" }),
      "now",
    );
    assert.equal(
      await withDeadline(Promise.resolve("ready"), { ms: 0, clock, onTimeout: () => "now" }),
      "ready",
    );
    assert.equal(clock.pendingTimers(), 0);
  });
});
