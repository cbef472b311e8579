// The socket file's life on disk (SPEC §2): a private directory, a 0600 socket, and the rule that a
// socket is taken over only when nothing answers on it. Liveness is judged by connecting and sending
// `daemon.ping`, never by a pid file. None of this applies to a Windows named pipe.
import { chmod, lstat, mkdir, stat, unlink } from "node:fs/promises";
import { createConnection, type Server } from "node:net";
import { homedir } from "node:os";
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

/**
 * Creates the socket's directory with mode 0700, or narrows an existing one we own to 0700. The
 * home directory itself is never narrowed (a socket placed directly in it must not change who can
 * read the user's files); a directory we do not own is left as it is with a warning, since the
 * socket's own 0600 mode still protects it on Linux and macOS.
 */
export async function prepareSocketDirectory(socketPath: string, logger: Logger): Promise<void> {
  const dir = dirname(resolve(socketPath));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await stat(dir);
  const mode = info.mode & 0o777;
  if (mode === 0o700) return;
  const ours = info.uid === process.getuid?.();
  if (ours && dir !== resolve(homedir())) {
    await chmod(dir, 0o700);
    logger.info({ dir, was: mode.toString(8) }, "socket directory narrowed to mode 0700");
  } else {
    logger.warn({ dir, mode: mode.toString(8) }, "socket directory is not private (0700)");
  }
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
