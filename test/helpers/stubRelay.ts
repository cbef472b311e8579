// A stand-in that refuses every WebSocket upgrade with a fixed HTTP answer (429, 401, 503, ...), or
// accepts the TCP connection and never answers, for tests of failure classification. Not a relay.
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";

export interface StubRelay {
  url: string;
  /** Upgrade requests seen. */
  readonly attempts: number;
  stop(): Promise<void>;
}

export async function startStubRelay(
  answer: { status: number; headers?: Record<string, string> } | "silent",
): Promise<StubRelay> {
  const sockets = new Set<Socket>();
  let attempts = 0;
  const server: Server = createServer((_req, res) => res.writeHead(404).end());
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("upgrade", (_req, socket: Socket) => {
    attempts++;
    socket.on("error", () => undefined);
    if (answer === "silent") return;
    const headers = Object.entries({ ...answer.headers, "content-length": "0", connection: "close" })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    socket.end(`HTTP/1.1 ${answer.status} Stub\r\n${headers}\r\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}`,
    get attempts() {
      return attempts;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
