// Who may touch what: the socket (0600), its directory (0700, or sticky like /tmp), the
// credentials file and the keys file (0600, ours). A file readable by others leaks the account;
// a socket others can open lets them read and reset this device's history.
import { lstatSync, statSync, type Stats } from "node:fs";
import { homedir } from "node:os";
import { dirname, resolve } from "node:path";
import { KeysFile, KeysFileError } from "../../client/crypto/index.js";
import { fail, ok, skip, warn, type Check, type Finding } from "./check.js";
import type { DoctorContext } from "./context.js";

const onWindows = process.platform === "win32";
const NOT_ON_WINDOWS = skip("Unix permissions do not apply on Windows");

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(3, "0");

function statOrNull(path: string, follow: boolean): Stats | null {
  try {
    return follow ? statSync(path) : lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** Owned by us and closed to group and others; the owner's own bits are not our business. */
function privateEntry(path: string, info: Stats, what: string): Finding | null {
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    return fail(`${what} ${path} belongs to another user (uid ${info.uid})`, `sudo chown "$USER" ${path}`);
  }
  if ((info.mode & 0o077) !== 0) {
    return fail(
      `${what} ${path} has mode ${octal(info.mode)}: group or others can use it`,
      `chmod 600 ${path}`,
    );
  }
  return null;
}

export const socketCheck: Check<DoctorContext> = {
  name: "socket",
  run: (ctx) => {
    if (onWindows) return skip("a named pipe: no file permissions");
    const path = ctx.config.socketPath;
    const info = statOrNull(path, false);
    if (info === null) return skip(`no socket at ${path} (the daemon is not running)`);
    if (!info.isSocket()) {
      return fail(`${path} exists and is not a socket: the daemon cannot start`, `move ${path} away`);
    }
    return privateEntry(path, info, "socket") ?? ok(`${path} has mode ${octal(info.mode)}`);
  },
};

export const socketDirectoryCheck: Check<DoctorContext> = {
  name: "socket-directory",
  run: (ctx) => {
    if (onWindows) return NOT_ON_WINDOWS;
    const dir = dirname(resolve(ctx.config.socketPath));
    const info = statOrNull(dir, true);
    if (info === null) return skip(`${dir} does not exist yet (\`caro-sync start\` creates it)`);
    const mode = info.mode & 0o7777;
    const sticky = (mode & 0o1000) !== 0;
    if ((mode & 0o777) === 0o700) return ok(`${dir} has mode ${octal(mode)}`);
    // In a sticky directory (like /tmp, 1777) others cannot remove or replace our socket.
    if (sticky) return ok(`${dir} has mode ${octal(mode)} (sticky: others cannot replace the socket)`);
    // The daemon never narrows the home directory itself; a socket placed there needs a subdirectory.
    const hint =
      dir === resolve(homedir())
        ? "point CARO_SYNC_SOCKET into a private directory, e.g. ~/.config/cmdai/sync.sock"
        : `chmod 700 ${dir}`;
    if ((mode & 0o022) !== 0) {
      return fail(`${dir} has mode ${octal(mode)}: others can replace the socket`, hint);
    }
    return warn(`${dir} has mode ${octal(mode)}: others can see the socket`, hint);
  },
};

export const credentialsFileCheck: Check<DoctorContext> = {
  name: "credentials-file",
  run: (ctx) => {
    if (onWindows) return NOT_ON_WINDOWS;
    const path = ctx.config.credentialsPath;
    const info = statOrNull(path, false);
    if (info === null) return skip(`no credentials file yet (${path}): the daemon is not initialized`);
    return privateEntry(path, info, "credentials file") ?? ok(`${path} has mode ${octal(info.mode)}`);
  },
};

export const keysFileCheck: Check<DoctorContext> = {
  name: "keys-file",
  run: (ctx) => {
    const path = ctx.keysPath;
    const info = statOrNull(path, false);
    if (info === null) {
      return warn(
        `no keys file (${path}): this client cannot encrypt`,
        "run `caro-sync init` or `caro-sync join`",
      );
    }
    if (!onWindows) {
      const insecure = privateEntry(path, info, "keys file");
      if (insecure) return insecure;
    }
    // Reads and validates the content; KeysFileError messages name the path, never a key.
    try {
      new KeysFile(path).load();
    } catch (err) {
      if (err instanceof KeysFileError) return fail(err.message, err.hint);
      throw err;
    }
    return ok(onWindows ? `${path} is valid` : `${path} has mode ${octal(info.mode)} and is valid`);
  },
};
