// Opens the daemon's socket: a Unix domain socket, or a named pipe on Windows (node:net takes
// both as a path). Every failure becomes a ConnectionError naming the socket.
import { createConnection, type Socket } from "node:net";
import { ConnectionError } from "./errors.js";

/**
 * Connects within `timeoutMs`. A full listen backlog (EAGAIN: a flood of connections the daemon
 * has not accepted yet) is retried with a short backoff until the deadline, since the daemon
 * is alive and makes room (docs/protocol.md, "Crowded socket"); every other error fails at once.
 */
export async function connectSocket(socketPath: string, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  for (let backoffMs = 5; ; backoffMs = Math.min(backoffMs * 2, 100)) {
    try {
      return await connectOnce(socketPath, Math.max(1, deadline - Date.now()), timeoutMs);
    } catch (err) {
      const busy = err instanceof ConnectionError && err.errno === "EAGAIN";
      if (!busy || Date.now() + backoffMs >= deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
    }
  }
}

function connectOnce(socketPath: string, remainingMs: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path: socketPath });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new ConnectionError(`timed out after ${timeoutMs} ms connecting to the daemon at ${socketPath}`, {
          socketPath,
          errno: "ETIMEDOUT",
          hint: "the daemon may be overloaded or hung; check `caro-sync health` or restart it",
        }),
      );
    }, remainingMs);
    const onError = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(ConnectionError.cannotConnect(socketPath, err));
    };
    socket.once("error", onError);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", onError);
      resolve(socket);
    });
  });
}
