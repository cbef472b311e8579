// Giving memory back after the session read a large part of the history (loading shards for a
// delivery or an inventory, then unloading them). V8 returns the pages of a heap that has shrunk
// only after a full garbage collection, and by itself runs one on an idle process only after a
// minute or two (measured on a daemon at 10,000 entries: ~230 MiB for ~110 s, then ~130 MiB). A
// daemon spends most of its life idle, so two full collections once a bulk read is over (the
// second after the sweeper has freed what the first found: 183 MiB after one, 162 after two, in
// the same measurement) are worth their ~10-50 ms each. Node exposes the collector only behind
// --expose-gc; the flag is set at runtime (V8 honours it for contexts created afterwards), once,
// in this one place. What stays is V8's young generation at its grown size (~32 MiB), which only
// V8's own idle-time collection shrinks (there is no way to ask for it from JavaScript).
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let collect: (() => void) | null | undefined;

/** Runs a full garbage collection (a no-op where the collector cannot be reached). */
export function fullGarbageCollection(): void {
  if (collect === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      const gc: unknown = runInNewContext("gc");
      collect = typeof gc === "function" ? (gc as () => void) : null;
    } catch {
      collect = null;
    }
  }
  collect?.();
}
