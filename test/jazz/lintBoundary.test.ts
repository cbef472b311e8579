// The lint rules that keep cojson internals inside src/jazz/cojsonAdapter.ts really fire: the
// project's own ESLint config, run through ESLint's Node API on snippets that break the boundary
// (linted as if they lived in src/), on code that only looks similar, and on the two exempt files.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { before, describe, it } from "node:test";
import { ESLint } from "eslint";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BOUNDARY_RULES = new Set(["no-restricted-imports", "caro/cojson-internals"]);
// Virtual files (never written): typescript-eslint type-checks them in a project from tsconfig.json.
const SNIPPETS = ["src/jazz/lint-snippet.ts", "src/sync/lint-snippet.ts"];

let eslint: ESLint;

async function lint(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}${path}` });
  const fatal = result?.messages.find((m) => m.fatal);
  assert.equal(fatal, undefined, `parsed: ${fatal?.message}`);
  return (result?.messages ?? [])
    .filter((m) => m.ruleId !== null && BOUNDARY_RULES.has(m.ruleId))
    .map((m) => `${m.line} ${m.ruleId}`);
}

// eslint-disable-next-line caro/cojson-internals -- the snippet must break the rule
const INTERNALS = `import type { LocalNode, RawCoMap, RawCoStream } from "cojson";
export async function f(node: LocalNode, map: RawCoMap, feed: RawCoStream, db: { get(s: string): unknown }) {
  feed.core.makeTransaction([], "private");
  const ops = map.ops;
  const items = feed.items;
  const synced = node.syncManager.unsyncedTracker.isAllSynced();
  await node.loadCoValueCore(map.id);
  const at = node.getCoValue(map.id).latestTxMadeAt;
  db.get("SELECT 1 AS found FROM coValues WHERE id = ?");
  db.get(\`SELECT lastIdx FROM sessions WHERE coValue = \${at}\`);
  return [ops, items, synced, map.getRaw("k")];
}
`;

describe("lint: the cojson boundary", { timeout: 180_000 }, () => {
  before(() => {
    eslint = new ESLint({
      cwd: ROOT,
      ruleFilter: ({ ruleId }) => BOUNDARY_RULES.has(ruleId),
      overrideConfig: {
        languageOptions: {
          parserOptions: {
            projectService: { allowDefaultProject: SNIPPETS, defaultProject: "tsconfig.json" },
          },
        },
      },
    });
  });

  it("refuses cojsonInternals, deep imports, the core packages and the crypto builds outside their files", async () => {
    const code = [
      `import { cojsonInternals } from "cojson";`,
      `import { NapiCrypto } from "cojson/crypto/NapiCrypto";`,
      `import { something } from "cojson/dist/coValueCore/coValueCore.js";`,
      `import * as core from "cojson-core-napi";`,
      `export const all = [cojsonInternals, NapiCrypto, something, core];`,
    ].join("\n");
    assert.deepEqual(await lint("src/sync/lint-snippet.ts", code), [
      "1 no-restricted-imports",
      "2 no-restricted-imports",
      "3 no-restricted-imports",
      "4 no-restricted-imports",
    ]);
  });

  it("flags each internal member on cojson's types, and SQL on cojson's tables", async () => {
    assert.deepEqual(await lint("src/jazz/lint-snippet.ts", INTERNALS), [
      "3 caro/cojson-internals", // .core
      "3 caro/cojson-internals", // .makeTransaction
      "4 caro/cojson-internals", // .ops
      "5 caro/cojson-internals", // .items
      "6 caro/cojson-internals", // .syncManager
      "6 caro/cojson-internals", // .unsyncedTracker
      "7 caro/cojson-internals", // .loadCoValueCore
      "8 caro/cojson-internals", // .getCoValue
      "8 caro/cojson-internals", // .latestTxMadeAt
      "9 caro/cojson-internals", // FROM coValues
      "10 caro/cojson-internals", // FROM sessions, in a template
      "11 caro/cojson-internals", // .getRaw
    ]);
  });

  it("leaves alike names on our own types alone", async () => {
    const code = `class Operations { ops = 1; core = { x: 1 }; items: number[] = []; latest = 0; }
const mine = new Operations();
export const n = mine.ops + mine.core.x + mine.items.length + mine.latest;
export const sql = "SELECT seq FROM queue WHERE seq > ?";
`;
    assert.deepEqual(await lint("src/sync/lint-snippet.ts", code), []);
  });

  it("exempts the adapter (internals) and crypto.ts (the crypto builds), as they are on disk", async () => {
    const results = await eslint.lintFiles([`${ROOT}src/jazz/cojsonAdapter.ts`, `${ROOT}src/jazz/crypto.ts`]);
    const found = results.flatMap((r) => r.messages.map((m) => `${r.filePath}:${m.line} ${m.ruleId}`));
    assert.deepEqual(found, []);
  });
});
