// Checks of what the daemon runs on and with: the Node.js version and the configuration.
import { existsSync } from "node:fs";
import { fail, ok, warn, type Check, type Finding } from "./check.js";
import type { DoctorContext } from "./context.js";

/** Release lines this package supports, with the oldest supported minor of each. */
const SUPPORTED_NODE: Readonly<Record<number, number>> = { 20: 19, 22: 0, 24: 0 };
const NEWEST_SUPPORTED_MAJOR = 24;

/**
 * Older than 20.19 fails (`require(esm)` and the native modules' ABI are not there); an odd
 * release line in between or a newer major nobody has tested is a warning.
 */
export function classifyNodeVersion(version: string): Finding {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) return warn(`cannot read the Node.js version "${version}"`);
  const [major, minor] = [Number(match[1]), Number(match[2])];
  const shown = `Node.js ${version.replace(/^v?/, "v")}`;
  const minMinor = SUPPORTED_NODE[major];
  if (minMinor !== undefined && minor >= minMinor) return ok(`${shown} (supported)`);
  const supported = "20.19+, 22 or 24";
  if (major < 20 || (major === 20 && minor < 19)) {
    return fail(`${shown} is too old`, `install Node.js ${supported}`);
  }
  if (major > NEWEST_SUPPORTED_MAJOR) {
    return warn(
      `${shown} is newer than the tested releases`,
      `if anything misbehaves, use Node.js ${supported}`,
    );
  }
  return warn(`${shown} is not a supported release line`, `use Node.js ${supported}`);
}

export const nodeVersionCheck: Check<DoctorContext> = {
  name: "node",
  run: () => classifyNodeVersion(process.versions.node),
};

export const configCheck: Check<DoctorContext> = {
  name: "config",
  run: (ctx) => {
    if (ctx.configError) {
      // The source is the file's path, or "environment CARO_SYNC_…" / "command line --…".
      return fail(
        `${ctx.configError.message}: the daemon will not start (exit 78)`,
        `fix ${ctx.configError.source}, then run \`caro-sync doctor\` again`,
      );
    }
    const file = ctx.config.configFile;
    if (ctx.configWarnings.length > 0) {
      return warn(ctx.configWarnings.join("; "), `remove the unknown keys from ${file}`);
    }
    return ok(existsSync(file) ? `${file} is valid` : `no config file (${file}): defaults`);
  },
};
