// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

// --- The cojson boundary -------------------------------------------------------------------------
// Only src/jazz/cojsonAdapter.ts may reach below cojson's documented API, so that a cojson upgrade
// breaks in exactly one place. Two rules hold the line: `no-restricted-imports` (cojsonInternals,
// deep imports, the core packages) and `caro/cojson-internals` below (members and SQL). Proven by
// test/jazz/lintBoundary.test.ts.
const ADAPTER = "src/jazz/cojsonAdapter.ts";
const CRYPTO = "src/jazz/crypto.ts";

/** Members that exist only on cojson's internals: flagged whatever the object's type. */
const INTERNAL_MEMBERS = new Set([
  "cojsonInternals",
  "makeTransaction",
  "loadCoValueCore",
  "syncManager",
  "unsyncedTracker",
  "getCoValue",
  "latestTxMadeAt",
]);
/** Common names that are internal on cojson's types: flagged when the object's type is cojson's. */
const INTERNAL_ON_COJSON_TYPES = new Set(["core", "ops", "items", "latest", "getRaw"]);
/** SQL naming one of the tables of cojson's SQLite storage. */
const COJSON_TABLE_SQL =
  /\b(FROM|JOIN|INTO|UPDATE|TABLE)\s+(coValues|sessions|transactions|signatureAfter|unsynced_covalues|deletedCoValues|storageReconciliationLocks)\b/i;
const COJSON_DECLARATION = /[\\/]node_modules[\\/]cojson[\\/]/;

/** @type {import("eslint").Rule.RuleModule} */
const cojsonInternalsRule = {
  meta: {
    type: "problem",
    docs: { description: `cojson internals only through ${ADAPTER}` },
    messages: {
      member: `\`.{{name}}\` is a cojson internal: add a named function to ${ADAPTER} and call that.`,
      sql: `SQL on cojson's storage tables belongs in ${ADAPTER}.`,
    },
    schema: [],
  },
  create(context) {
    // Type information, when the file has it (TypeScript files do; plain JS is checked by name only).
    const services = context.sourceCode.parserServices;
    const typed = services?.program != null && services.esTreeNodeToTSNodeMap != null;
    const checker = typed ? services.program.getTypeChecker() : null;

    /** @param {any} type */
    const declaredInCojson = (type) => {
      const parts = type.isUnion?.() || type.isIntersection?.() ? type.types : [type];
      return parts.some((/** @type {any} */ t) =>
        (t.getSymbol?.() ?? t.aliasSymbol)
          ?.getDeclarations?.()
          ?.some((/** @type {any} */ d) => COJSON_DECLARATION.test(d.getSourceFile().fileName)),
      );
    };
    /** @param {any} node */
    const objectIsCojson = (node) => {
      if (!checker || !services?.esTreeNodeToTSNodeMap) return false;
      const tsNode = services.esTreeNodeToTSNodeMap.get(node);
      return declaredInCojson(checker.getTypeAtLocation(tsNode));
    };
    /** @param {any} node @param {string} text */
    const checkSql = (node, text) => {
      if (COJSON_TABLE_SQL.test(text)) context.report({ node, messageId: "sql" });
    };

    return {
      MemberExpression(node) {
        const prop = node.property;
        const name =
          prop.type === "Identifier" && !node.computed
            ? prop.name
            : prop.type === "Literal" && typeof prop.value === "string"
              ? prop.value
              : null;
        if (name === null) return;
        const internal =
          INTERNAL_MEMBERS.has(name) || (INTERNAL_ON_COJSON_TYPES.has(name) && objectIsCojson(node.object));
        if (internal) context.report({ node: prop, messageId: "member", data: { name } });
      },
      Literal(node) {
        if (typeof node.value === "string") checkSql(node, node.value);
      },
      TemplateLiteral(node) {
        checkSql(node, node.quasis.map((q) => q.value.cooked ?? q.value.raw).join(" "));
      },
    };
  },
};

/** no-restricted-imports for the cojson boundary; `allow` opens what one file legitimately needs. */
function cojsonImports(/** @type {{ internals?: boolean, crypto?: boolean }} */ allow = {}) {
  const where = `cojson internals only through ${ADAPTER}`;
  return {
    "no-restricted-imports": [
      "error",
      {
        paths: allow.internals ? [] : [{ name: "cojson", importNames: ["cojsonInternals"], message: where }],
        patterns: [
          { group: ["cojson/dist/*", "cojson/src/*"], message: where },
          { group: ["cojson-core-*"], message: `cojson's crypto cores load only through ${CRYPTO}` },
          ...(allow.crypto
            ? []
            : [{ group: ["cojson/crypto/*"], message: `use jazzCrypto from ${CRYPTO} (native or WASM)` }]),
        ],
      },
    ],
  };
}

export default tseslint.config(
  { ignores: ["dist/", "node_modules/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["describe", "it", "before", "after", "test"] },
          ],
        },
      ],
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/restrict-template-expressions": [
        "error",
        { allowNumber: true, allowBoolean: true, allowNullish: true },
      ],
    },
  },
  { files: ["**/*.js"], ...tseslint.configs.disableTypeChecked },
  {
    files: ["**/*.ts", "**/*.js"],
    ignores: [ADAPTER],
    plugins: { caro: { rules: { "cojson-internals": cojsonInternalsRule } } },
    rules: { "caro/cojson-internals": "error", ...cojsonImports() },
  },
  { files: [CRYPTO], rules: cojsonImports({ crypto: true }) },
  { files: [ADAPTER], rules: cojsonImports({ internals: true }) },
);
