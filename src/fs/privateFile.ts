// Files only their owner may read (the daemon's credentials, the client's keys): written atomically
// (a temp file 0600, fsync, rename, fsync of the directory), so a crash leaves the old file or the
// new one, never half of one; and judged unsafe when group or others can access them (like ssh).
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";

/** The file's mode bits, or null when it does not exist; other stat errors are thrown. */
function fileModeOrNull(path: string): number | null {
  try {
    return statSync(path).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** True when group or others may access a file of this mode (never on Windows, which has no such bits). */
function isExposed(mode: number): boolean {
  return process.platform !== "win32" && (mode & 0o077) !== 0;
}

/** What reading a private file found; the callers turn the failures into their own error types. */
export type PrivateRead =
  | { kind: "absent" }
  | { kind: "exposed"; mode: number; problem: string; hint: string }
  | { kind: "unreadable"; error: unknown }
  | { kind: "text"; text: string };

/** Reads `path` as UTF-8 unless it is absent or others may access it (then it is not read at all). */
export function readPrivateFile(path: string): PrivateRead {
  let mode: number | null;
  try {
    mode = fileModeOrNull(path);
  } catch (error) {
    return { kind: "unreadable", error };
  }
  if (mode === null) return { kind: "absent" };
  if (isExposed(mode)) {
    const problem = `is accessible by group or others (mode ${(mode & 0o777).toString(8)})`;
    return { kind: "exposed", mode, problem, hint: `run: chmod 600 ${path}` };
  }
  try {
    return { kind: "text", text: readFileSync(path, "utf8") };
  } catch (error) {
    return { kind: "unreadable", error };
  }
}

/** Replaces `path` with `text` atomically, mode 0600; the directory is created 0700 if missing. */
export function writePrivateFile(path: string, text: string): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  syncDir(dir);
}

/** Deletes `path` durably; no error when it does not exist. */
export function removePrivateFile(path: string): void {
  rmSync(path, { force: true });
  syncDir(dirname(path));
}

/** Makes a rename or unlink in `dir` durable (best effort: not every platform can fsync a directory). */
function syncDir(dir: string): void {
  if (process.platform === "win32") return;
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not fatal: the data itself was fsynced before the rename.
  }
}
