// `npm run soak` (after the build): the reliability suite (dist/test/reliability) at soak sizes,
// one file at a time, each scenario writing its figures to a results directory; then the table of
// figures (scripts/soak-report.js). `--write-docs` also puts the table into docs/reliability.md.
// Exit 1 when a test failed or anything acknowledged was lost or duplicated.
//
// Usage: npm run soak [-- --write-docs]
// Environment: CARO_SYNC_SOAK_RESULTS (the results directory; default: a new temp dir),
// CARO_SYNC_FAULT_SEED (replay the fault proxy's dice).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { readFigures, section, writeDocs } from "./soak-report.js";

const writeToDocs = process.argv.includes("--write-docs");
const results = process.env.CARO_SYNC_SOAK_RESULTS || mkdtempSync(join(tmpdir(), "caro-soak-"));
mkdirSync(results, { recursive: true });
for (const name of readdirSync(results)) if (name.endsWith(".json")) rmSync(join(results, name));

const started = Date.now();
const run = spawnSync(
  process.execPath,
  ["scripts/run-tests.js", "--test-concurrency=1", "dist/test/reliability"],
  { stdio: "inherit", env: { ...process.env, CARO_SYNC_SOAK: "1", CARO_SYNC_SOAK_RESULTS: results } },
);
const durationMs = Date.now() - started;

const figures = readFigures(results);
let commit;
try {
  commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
} catch {
  commit = undefined;
}
const body = section(figures, { durationMs, commit });
process.stdout.write(`\n${body}\n\nfigures in ${results}\n`);
if (writeToDocs) {
  writeDocs(body);
  process.stdout.write("written to docs/reliability.md\n");
}
const bad = figures.some((f) => f.lost > 0 || f.duplicated > 0);
process.exit(run.status === 0 && !bad ? 0 : 1);
