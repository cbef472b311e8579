// Opens the daemon's socket: a Unix domain socket, or a named pipe on Windows (node:net takes
// both as a path). Every failure becomes a ConnectionError naming the socket.
import { createConnection, type Socket } from "node:net";
import { ConnectionError } from "./errors.js";

export function connectSocket(socketPath: string, timeoutMs: number): Promise<Socket> {
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
    }, timeoutMs);
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
