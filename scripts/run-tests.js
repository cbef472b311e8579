// `npm test`'s runner: node's test runner on every `*.test.js` under dist/test (or under the folders
// and files given), the same set of files on every supported Node.
//
// Why not `node --test dist/test/`: Node 20 takes a folder and runs every .js file under a folder
// named `test` (the helpers included, as empty test files); Node 22 and later read each argument as
// a glob pattern, so a folder is taken for one file and the run fails at once. Node 20 has no globs.
// Listing the files here is the form both accept.
//
// The tests run with HOME set to an empty temporary folder: a test that forgets to give the
// daemon or the CLI a home of its own would otherwise use (and leave state in) the real one. The
// run fails if anything is left in that folder.
//
// Usage: node scripts/run-tests.js [node --test flags…] [folder or file…]
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
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
const home = mkdtempSync(join(tmpdir(), "caro-sync-tests-home-"));
const run = spawnSync(process.execPath, ["--test", ...flags, ...files], {
  stdio: "inherit",
  env: { ...process.env, HOME: home },
});
const left = readdirSync(home, { recursive: true, encoding: "utf8" });
rmSync(home, { recursive: true, force: true });
if (run.error) throw run.error;
if (left.length > 0) {
  process.stderr.write(
    `the tests left files in HOME (a test without a home of its own):\n  ${left.join("\n  ")}\n`,
  );
  process.exit(1);
}
process.exit(run.status ?? 1);
