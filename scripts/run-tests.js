// `npm test`'s runner: node's test runner on every `*.test.js` under dist/test (or under the folders
// and files given), the same set of files on every supported Node.
//
// Why not `node --test dist/test/`: Node 20 takes a folder and runs every .js file under a folder
// named `test` (the helpers included, as empty test files); Node 22 and later read each argument as
// a glob pattern, so a folder is taken for one file and the run fails at once. Node 20 has no globs.
// Listing the files here is the form both accept.
//
// Usage: node scripts/run-tests.js [node --test flags…] [folder or file…]
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith("-"));
const roots = args.filter((a) => !a.startsWith("-"));
if (roots.length === 0) roots.push("dist/test");

/** @param {string} root */
function testFiles(root) {
  if (!statSync(root).isDirectory()) return [root];
  return readdirSync(root, { recursive: true, encoding: "utf8" })
    .filter((rel) => rel.endsWith(".test.js"))
    .map((rel) => join(root, rel))
    .sort();
}

const files = roots.flatMap(testFiles);
if (files.length === 0) {
  process.stderr.write(`no *.test.js under ${roots.join(", ")}: run the build first (npm run build)\n`);
  process.exit(1);
}
const run = spawnSync(process.execPath, ["--test", ...flags, ...files], { stdio: "inherit" });
if (run.error) throw run.error;
process.exit(run.status ?? 1);
