// The idle collector (src/runtime/idleCollector.ts): a full collection, twice, once a busy second
// is followed by a quiet one; never while busy, never twice for one burst, never after stop().
// Time is a FakeClock and the CPU time a counter the test moves; the real collector is checked to
// be reachable (and harmless) at the end.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fullGarbageCollection, startIdleCollector } from "../../src/runtime/idleCollector.js";
import { FakeClock } from "../helpers/fakeClock.js";

function setup() {
  const clock = new FakeClock();
  let cpu = 0;
  let collections = 0;
  const stop = startIdleCollector({ clock, cpuMs: () => cpu, collect: () => collections++ });
  /** One second passes with `ms` of CPU time used. */
  const second = (ms: number) => {
    cpu += ms;
    clock.advance(1000);
  };
  return { clock, second, stop, collections: () => collections };
}

describe("idle collector", () => {
  it("collects twice once a busy second is followed by a quiet one, and once per burst", () => {
    const t = setup();
    t.second(0);
    t.second(2);
    assert.equal(t.collections(), 0, "idle from the start: nothing to give back");
    t.second(900);
    t.second(600);
    assert.equal(t.collections(), 0, "not while busy");
    t.second(100);
    assert.equal(t.collections(), 0, "a second neither busy nor quiet waits");
    t.second(10);
    assert.equal(t.collections(), 1, "busy, then quiet: a collection");
    t.clock.advance(500);
    assert.equal(t.collections(), 2, "and another once the sweeper is done");
    for (let i = 0; i < 5; i++) t.second(1);
    assert.equal(t.collections(), 2, "not again without new work");
    t.second(500);
    t.second(0);
    t.clock.advance(500);
    assert.equal(t.collections(), 4, "the next burst gets its own");
    t.stop();
  });

  it("does nothing after stop(), and leaves no timer behind", () => {
    const t = setup();
    t.second(900);
    t.stop();
    t.second(0);
    t.second(0);
    assert.equal(t.collections(), 0);
    assert.equal(t.clock.pendingTimers(), 0);
  });

  it("reaches V8's collector: a large garbage heap shrinks", () => {
    let garbage: unknown[] | null = Array.from({ length: 300_000 }, (_, i) => ({ i, s: `item ${i}` }));
    const before = process.memoryUsage().heapUsed;
    garbage = null;
    fullGarbageCollection();
    assert.equal(garbage, null);
    assert.ok(process.memoryUsage().heapUsed < before, "heap used went down");
  });
});
