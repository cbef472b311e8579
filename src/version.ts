import { readFileSync } from "node:fs";

// Compiled to dist/src/version.js; package.json sits two levels up in a checkout and in the package.
const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

export const DAEMON_VERSION: string = pkg.version;
