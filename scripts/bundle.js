// Bundles the compiled CLI and daemon (dist/src, tsc's output) into dist/bundle, which bin/caro-sync
// runs. Why: Node pays per module file at start (resolve, read, compile), and the daemon loads ~250
// of them before it answers; the bundle is a few dozen files (docs/performance.md, "Start").
// The lazy imports stay lazy: each becomes a chunk loaded on first use (Jazz, the CLI's commands).
//
// The contract kept with the code: every file lands directly in dist/bundle, two levels below the
// package root as dist/src/*.js are, so src/packageRoot.ts finds the root from either.
// Left out of the bundle: native addons (loaded by path from node_modules) and ws's optional
// native helpers, which ws requires inside a try.
import { build } from "esbuild";
import { rmSync, writeFileSync } from "node:fs";

const OUT = "dist/bundle";
/** Which modules went into which bundle file: the tests read it to tell what a run loaded. */
const META = "dist/bundle-meta.json";

rmSync(OUT, { recursive: true, force: true });
const { metafile } = await build({
  entryPoints: { main: "dist/src/cli/main.js", compileCache: "dist/src/runtime/compileCache.js" },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20.19",
  chunkNames: "[name]-[hash]",
  external: ["better-sqlite3", "cojson-core-napi", "bufferutil", "utf-8-validate"],
  // CommonJS packages inside an ES bundle call require(); ES modules have none of their own.
  banner: {
    js: "import { createRequire as __caroRequire } from 'node:module'; const require = __caroRequire(import.meta.url);",
  },
  // Identifiers stay as written, so stack traces in the log still name our functions.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: "linked",
  metafile: true,
  logLevel: "warning",
});
const inputsOf = Object.fromEntries(
  Object.entries(metafile.outputs)
    .filter(([file]) => file.endsWith(".js"))
    .map(([file, { inputs }]) => [file, Object.keys(inputs)]),
);
writeFileSync(META, JSON.stringify(inputsOf));
