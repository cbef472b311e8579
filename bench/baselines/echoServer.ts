// The IPC baseline: a bare Node NDJSON JSON-RPC server on a Unix socket, in its own process. It
// parses each line and answers what daemon.ping answers, with nothing in between (no framing
// limits, no validation, no dispatch): the floor for a Node server speaking the daemon's protocol.
// Forked by the runner; reports "listening" over IPC.
import { createServer } from "node:net";
import { parseArgs } from "node:util";
import { exitWithParent, report } from "../support.js";

const { values: args } = parseArgs({ options: { socket: { type: "string" } } });
const started = Date.now();
exitWithParent();

const server = createServer((socket) => {
  let buffered = "";
  socket.setEncoding("utf8");
  socket.on("error", () => undefined);
  socket.on("data", (chunk: string) => {
    buffered += chunk;
    let newline: number;
    let out = "";
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      const { id } = JSON.parse(line) as { id: unknown };
      const result = { pong: true, version: "echo", uptime: Math.floor((Date.now() - started) / 1000) };
      out += JSON.stringify({ jsonrpc: "2.0", id, result }) + "\n";
    }
    if (out !== "") socket.write(out);
  });
});
server.listen(args.socket!, () => void report("listening"));
