// The socket file's life on disk (docs/protocol.md): a private directory, a 0600 socket, and the rule that a
// socket is taken over only when nothing answers on it. Liveness is judged by connecting and sending
// `daemon.ping`, never by a pid file. None of this applies to a Windows named pipe.
import { chmod, lstat, mkdir, stat, unlink } from "node:fs/promises";
import { createConnection, type Server } from "node:net";
import { dirname, resolve } from "node:path";
import type { Logger } from "../log/logger.js";

/** Another daemon (or something else) is listening on the socket; the caller should exit non-zero. */
export class AlreadyRunningError extends Error {
  constructor(
    readonly socketPath: string,
    detail: string,
  ) {
    super(`caro-sync is already running on ${socketPath}: ${detail}`);
    this.name = "AlreadyRunningError";
  }
}

export const usesNamedPipe = (): boolean => process.platform === "win32";

/** The socket's directory is not safe to listen in; the daemon refuses to start (exit 77). */
export class SocketDirectoryError extends Error {
  constructor(
    readonly dir: string,
    problem: string,
    readonly hint: string,
  ) {
    super(`refusing to listen in ${dir}: ${problem} (${hint})`);
    this.name = "SocketDirectoryError";
  }
}

/**
 * Creates the socket's directory with mode 0700 when it does not exist. An existing directory is
 * never changed (it is not ours to narrow: as root, CARO_SYNC_SOCKET=/tmp/x.sock must not chmod
 * /tmp), but it is refused when another process could swap the socket: writable by group or others
 * without the sticky bit, or owned by another user unless it is such a sticky shared directory
 * (like /tmp, mode 1777). The socket itself is 0600 in any case.
 */
export async function prepareSocketDirectory(socketPath: string, logger: Logger): Promise<void> {
  const dir = dirname(resolve(socketPath));
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) {
    logger.info({ dir }, "socket directory created with mode 0700");
    return;
  }
  const info = await stat(dir);
  const problem = unsafeDirectory(info, process.getuid?.());
  if (problem) throw new SocketDirectoryError(dir, problem, "use a private directory: set CARO_SYNC_SOCKET");
  if ((info.mode & 0o077) !== 0 && (info.mode & 0o1000) === 0)
    logger.info({ dir, mode: (info.mode & 0o777).toString(8) }, "socket directory is readable by others");
}

/** Why a directory is unsafe for a socket, or null. Exported for tests. */
export function unsafeDirectory(info: { mode: number; uid: number }, uid: number | undefined): string | null {
  const sticky = (info.mode & 0o1000) !== 0;
  const writableByOthers = (info.mode & 0o022) !== 0;
  if (writableByOthers && !sticky)
    return `it is writable by group or others (mode ${(info.mode & 0o7777).toString(8)}) and not sticky`;
  if (uid !== undefined && info.uid !== uid && !(sticky && writableByOthers))
    return `it is owned by another user (uid ${info.uid})`;
  return null;
}

/**
 * Makes `socketPath` free to listen on: absent, or a stale socket nobody listens on (removed). Throws
 * AlreadyRunningError when something accepts connections there, and a plain Error when the path is
 * not a socket or cannot be checked.
 */
export async function clearStaleSocket(socketPath: string, probeTimeoutMs: number): Promise<void> {
  // Re-checked a few times: another daemon starting at the same moment may replace the file between
  // our probe and our unlink; the inode check makes sure only the probed (dead) file is removed.
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = await lstatOrNull(socketPath);
    if (before === null) return;
    if (!before.isSocket()) {
      throw new Error(
        `refusing to start: ${socketPath} exists and is not a socket (remove it or set CARO_SYNC_SOCKET)`,
      );
    }
    const probe = await probeSocket(socketPath, probeTimeoutMs);
    switch (probe) {
      case "answered":
        throw new AlreadyRunningError(socketPath, "another daemon answered daemon.ping");
      case "silent":
        throw new AlreadyRunningError(
          socketPath,
          `a process accepts connections there but did not answer daemon.ping within ${probeTimeoutMs} ms; refusing to take over its socket`,
        );
      case "gone":
        continue;
      case "refused": {
        const now = await lstatOrNull(socketPath);
        if (now === null) return;
        if (now.ino !== before.ino || now.dev !== before.dev) continue;
        await unlinkIfPresent(socketPath);
        return;
      }
    }
  }
  throw new Error(`refusing to start: ${socketPath} keeps changing while it is checked`);
}

/** Listens on `socketPath` with a umask that makes the socket 0600 from its creation on. */
export function listenPrivately(server: Server, socketPath: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(err.code === "EADDRINUSE" ? new AlreadyRunningError(socketPath, "the address is in use") : err);
    };
    server.once("error", onError);
    const previous = setUmask(0o177);
    try {
      // bind() runs synchronously inside listen(), so the umask is restored before any other code runs.
      server.listen(socketPath, () => {
        server.off("error", onError);
        resolvePromise();
      });
    } finally {
      if (previous !== undefined) setUmask(previous);
    }
  });
}

/** Removes the socket file if it is still the one we created (same inode). */
export async function removeSocketFile(socketPath: string, ino: number | undefined): Promise<void> {
  const info = await lstatOrNull(socketPath);
  if (info === null || !info.isSocket() || (ino !== undefined && info.ino !== ino)) return;
  await unlinkIfPresent(socketPath);
}

/** Narrows the socket to 0600 (again: the umask may not have been settable) and returns its inode. */
export async function secureSocketFile(socketPath: string): Promise<number> {
  await chmod(socketPath, 0o600);
  return (await lstat(socketPath)).ino;
}

type Probe = "answered" | "silent" | "refused" | "gone";

/** Connects and sends `daemon.ping`; any bytes back within the timeout count as an answer. */
function probeSocket(socketPath: string, timeoutMs: number): Promise<Probe> {
  return new Promise((resolvePromise, reject) => {
    const socket = createConnection(socketPath);
    const finish = (outcome: Probe | Error): void => {
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolvePromise(outcome);
    };
    const timer = setTimeout(() => finish("silent"), timeoutMs);
    socket.on("connect", () => {
      socket.write('{"jsonrpc":"2.0","id":"caro-sync-probe","method":"daemon.ping"}\n');
    });
    socket.on("data", () => finish("answered"));
    // Accepting a connection and closing it unanswered still means someone is listening.
    socket.on("close", () => finish("silent"));
    socket.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ECONNREFUSED") finish("refused");
      else if (err.code === "ENOENT") finish("gone");
      else if (err.code === "ECONNRESET" || err.code === "EPIPE") finish("silent");
      else finish(new Error(`cannot check ${socketPath}: ${err.code ?? err.message}`, { cause: err }));
    });
  });
}

function setUmask(mask: number): number | undefined {
  try {
    return process.umask(mask);
  } catch {
    // Worker threads cannot change the umask; the chmod after listen still narrows the socket.
    return undefined;
  }
}

async function lstatOrNull(path: string) {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}
