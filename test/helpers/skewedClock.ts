// A process whose wall clock is off by a fixed amount: the environment for a child Node process
// that preloads a module shifting Date.now() (what the daemon's clock, pino and cojson read).
// `new Date()` without arguments is left alone: nothing the daemon stores comes from it.
const PRELOAD = (offsetMs: number) =>
  `const now = Date.now; Date.now = () => now() + ${Math.trunc(offsetMs)};`;

export function skewedClockEnv(offsetMs: number): { NODE_OPTIONS: string } {
  return { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(PRELOAD(offsetMs))}` };
}
