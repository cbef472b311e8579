// Giving memory back when the daemon goes idle after a burst of work (a large upload, a fresh
// device's first sync, sync.verify, a paged sync.pull of the whole history). V8 returns the pages
// of a heap that has shrunk only after a full garbage collection, and on an idle process runs one
// by itself only after half a minute to two minutes (measured at 100,000 entries: a fresh device
// idle at ~530 MiB right after its first sync, ~160 MiB once V8 got round to it). A daemon spends
// most of its life idle, so the collector watches the process's CPU time once a second and, after
// a busy second followed by a quiet one, runs two full collections (the second once the sweeper
// has freed what the first found): ~10–50 ms each, with a heap of a few tens of MiB alive.
//
// Node exposes the collector only behind --expose-gc; the flag is set at runtime (V8 honours it for
// contexts created afterwards), once, in this one place. What it cannot give back is V8's young
// generation at its grown size, which only V8's own idle-time collection shrinks, and memory the C
// library keeps: the daemon's start settings bound both (client/launch.ts DAEMON_MEMORY_ENV).
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Clock, TimerHandle } from "../sync/clock.js";

/** How often the CPU time is looked at. */
const TICK_MS = 1000;
/** A second with more CPU time than this share of a core is busy; with less than QUIET, quiet. */
const BUSY_SHARE = 0.2;
const QUIET_SHARE = 0.05;
/** Between the two collections. */
const SWEEP_MS = 500;

let gc: (() => void) | null | undefined;

/** Runs a full garbage collection (a no-op where the collector cannot be reached). */
export function fullGarbageCollection(): void {
  if (gc === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      const found: unknown = runInNewContext("gc");
      gc = typeof found === "function" ? (found as () => void) : null;
    } catch {
      gc = null;
    }
  }
  gc?.();
}

export interface IdleCollectorDeps {
  clock: Clock;
  /** CPU time used by the process so far, in ms (default: process.cpuUsage()). */
  cpuMs?: () => number;
  /** Default: fullGarbageCollection. */
  collect?: () => void;
}

/** Starts watching; returns stop(). Its timers never keep the process alive. */
export function startIdleCollector(deps: IdleCollectorDeps): () => void {
  const cpuMs =
    deps.cpuMs ??
    (() => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1000;
    });
  const collect = deps.collect ?? fullGarbageCollection;
  const { clock } = deps;
  let last = cpuMs();
  let busySinceCollect = false;
  let timer: TimerHandle | null = null;
  let stopped = false;
  const arm = (ms: number, fn: () => void) => {
    timer = clock.setTimeout(
      () => {
        timer = null;
        if (!stopped) fn();
      },
      ms,
      { unref: true },
    );
  };
  const tick = () => {
    const now = cpuMs();
    const used = now - last;
    last = now;
    if (used > TICK_MS * BUSY_SHARE) busySinceCollect = true;
    else if (busySinceCollect && used < TICK_MS * QUIET_SHARE) {
      busySinceCollect = false;
      collect();
      return arm(SWEEP_MS, () => {
        collect();
        // The collections' own CPU time is not work to collect after.
        last = cpuMs();
        arm(TICK_MS, tick);
      });
    }
    arm(TICK_MS, tick);
  };
  arm(TICK_MS, tick);
  return () => {
    stopped = true;
    if (timer) clock.clearTimeout(timer);
    timer = null;
  };
}
