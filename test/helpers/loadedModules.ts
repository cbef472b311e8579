// Which modules a Node process loads: `node --import <dist>/test/helpers/loadedModules.js` with
// LOADED_MODULES_FILE set appends one URL a line to that file: every ES module as it is loaded
// (a loader hook, run by Node on its own thread) and, when the process exits, every CommonJS
// module in require's cache. Used to check that a command loads only what it needs.
// bin/caro-sync runs the bundle (scripts/bundle.js): a file of dist/bundle counts as the modules
// it was made of.
import { appendFileSync, readFileSync } from "node:fs";
import { createRequire, register } from "node:module";
import { pathToFileURL } from "node:url";
import { PACKAGE_ROOT } from "../../src/packageRoot.js";

/** The flag that makes a child process record its modules. */
export const RECORD_MODULES_FLAG = `--import=${import.meta.url}`;

/** The URLs recorded in `file` (ES and CommonJS, each once), a bundle file replaced by its modules. */
export function readLoadedModules(file: string): string[] {
  const bundled = bundleInputs();
  const urls = readFileSync(file, "utf8").split("\n").filter(Boolean);
  return [...new Set(urls.flatMap((url) => bundled.get(url) ?? [url]))];
}

let inputs: Map<string, string[]> | undefined;

/** File URL of each bundle file → the URLs of the modules in it (dist/bundle-meta.json). */
function bundleInputs(): Map<string, string[]> {
  if (inputs) return inputs;
  const meta = JSON.parse(readFileSync(new URL("dist/bundle-meta.json", PACKAGE_ROOT), "utf8")) as Record<
    string,
    string[]
  >;
  const url = (path: string) => new URL(path, PACKAGE_ROOT).href;
  inputs = new Map(Object.entries(meta).map(([file, modules]) => [url(file), modules.map(url)]));
  return inputs;
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
