// Which modules a Node process loads: `node --import <dist>/test/helpers/loadedModules.js` with
// LOADED_MODULES_FILE set appends one URL a line to that file: every ES module as it is loaded
// (a loader hook, run by Node on its own thread) and, when the process exits, every CommonJS
// module in require's cache. Used to check that a command loads only what it needs.
import { appendFileSync, readFileSync } from "node:fs";
import { createRequire, register } from "node:module";
import { pathToFileURL } from "node:url";

/** The flag that makes a child process record its modules. */
export const RECORD_MODULES_FLAG = `--import=${import.meta.url}`;

/** The URLs recorded in `file` (ES and CommonJS, each once). */
export function readLoadedModules(file: string): string[] {
  return [...new Set(readFileSync(file, "utf8").split("\n").filter(Boolean))];
}

const out = process.env.LOADED_MODULES_FILE;
if (out !== undefined) {
  register(new URL("./loadedModulesHooks.js", import.meta.url), { data: { out } });
  const cache = createRequire(import.meta.url).cache;
  process.once("exit", () => {
    const cjs = Object.keys(cache).map((p) => pathToFileURL(p).href);
    if (cjs.length > 0) appendFileSync(out, cjs.join("\n") + "\n");
  });
}
