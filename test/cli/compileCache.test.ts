// The compile cache (src/runtime/compileCache.ts): on a Node that has one, a run leaves V8's code in
// the user's cache folder and the next run finds it there; on Node 20 nothing is written.
import assert from "node:assert/strict";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import module from "node:module";
import { after, before, describe, it } from "node:test";
import { compileCacheDir } from "../../src/runtime/compileCache.js";
import { tempDir } from "../helpers/tmp.js";
import { caroSync } from "./run.js";

const nodeHasCache = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === "function";

/** Every file under `dir`, recursively. */
const filesIn = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length
    : 0;

describe("the compile cache", () => {
  let home: { path: string; cleanup: () => Promise<void> };
  before(async () => (home = await tempDir("cs-cc-")));
  after(() => home.cleanup());

  it(
    nodeHasCache ? "is written to the user's cache folder" : "is not written on a Node without one",
    async () => {
      const dir = compileCacheDir({ HOME: home.path });
      const run = await caroSync(["--version"], { home: home.path });
      assert.equal(run.code, 0, run.stderr);
      if (!nodeHasCache) {
        assert.equal(existsSync(dir), false);
        return;
      }
      assert.equal(statSync(dirname(dir)).mode & 0o777, 0o700, "the cache folder is the user's alone");
      const written = filesIn(dir);
      assert.ok(written > 0, `nothing in ${dir}`);
      // A second run reads what the first wrote: the folder gains no entries for the same code.
      const again = await caroSync(["--version"], { home: home.path });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(filesIn(dir), written);
    },
  );
});
