// Node 22.1+ can keep V8's compiled code between runs (`module.enableCompileCache`), which takes
// about a fifth off every start of the CLI and the daemon (docs/performance.md, "Start"). Node 20
// has no such cache, and this does nothing there.
//
// The folder is the user's own cache folder: Node's default, the system's shared temp dir, is one
// where another local user could plant entries. NODE_DISABLE_COMPILE_CACHE=1 turns it off (Node's).
import { mkdirSync } from "node:fs";
import module from "node:module";
import { join } from "node:path";
import { defaultPaths } from "../config/paths.js";

type WithCompileCache = { enableCompileCache?: (dir: string) => unknown; flushCompileCache?: () => void };

/** Where the compiled code is kept: beside the daemon's cache, in ~/.cache/cmdai. */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(defaultPaths(env).cacheDir, "node-compile-cache");
}

/** Call before importing the code to cache; a failure to cache only costs the speed-up. */
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): void {
  const enable = (module as WithCompileCache).enableCompileCache;
  if (!enable) return;
  const dir = compileCacheDir(env);
  try {
    // Made here, not by Node, so that ~/.cache/cmdai is private (0700) as the daemon makes it.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch {
    return;
  }
  enable(dir);
}

/**
 * Writes out what was compiled so far (Node 22.10+; otherwise Node writes it at exit). The daemon
 * calls it before it closes its last connections, so that a client that saw it stop (`caro-sync
 * stop`) can remove its folders without racing the write at exit.
 */
export function flushCompileCache(): void {
  (module as WithCompileCache).flushCompileCache?.();
}
