// `npm run openrpc` (run by `npm run build`): writes docs/openrpc.json from src/protocol/openrpc.ts.
// In CI (CI set, as CI runners do) or with --check it writes nothing and fails when the checked-in
// copy differs, so a stale document cannot land. test/ipc/openrpc.test.ts checks the same.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildOpenRpcDocument } from "./openrpc.js";

/** docs/openrpc.json, from dist/src/protocol/ (compiled) or src/protocol/ (sources). */
export const OPENRPC_PATH = fileURLToPath(
  new URL(
    import.meta.url.includes("/dist/") ? "../../../docs/openrpc.json" : "../../docs/openrpc.json",
    import.meta.url,
  ),
);

/** The file's exact content: the document, 2-space indented, with a final newline. */
export function openRpcJson(): string {
  return `${JSON.stringify(buildOpenRpcDocument(), null, 2)}\n`;
}

function main(): number {
  const check =
    process.argv.includes("--check") || (process.env.CI !== undefined && process.env.CI !== "false");
  const wanted = openRpcJson();
  let current: string | null = null;
  try {
    current = readFileSync(OPENRPC_PATH, "utf8");
  } catch {
    current = null;
  }
  if (current === wanted) return 0;
  if (check) {
    process.stderr.write(`${OPENRPC_PATH} is stale: run \`npm run build\` and commit the file\n`);
    return 1;
  }
  writeFileSync(OPENRPC_PATH, wanted);
  process.stdout.write(`wrote ${OPENRPC_PATH}\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main();
