// Stand-alone entry for the relay (`node dist/src/relay/main.js --port 4200 --db PATH`), used by
// tests that must kill and restart a relay process. Prints one JSON line when listening:
// {"event":"listening","url":"ws://127.0.0.1:4200","port":4200}.
import { parseArgs } from "node:util";
import { createLogger, type LogLevel } from "../log/logger.js";
import { runRelayCommand } from "./command.js";

const { values } = parseArgs({
  options: {
    host: { type: "string" },
    port: { type: "string" },
    db: { type: "string" },
    "in-memory": { type: "boolean" },
    durability: { type: "string" },
    "log-level": { type: "string" },
  },
});

const logger = createLogger({ level: (values["log-level"] ?? "warn") as LogLevel, name: "caro-sync-relay" });
runRelayCommand({
  host: values.host,
  port: values.port === undefined ? undefined : Number(values.port),
  dbPath: values.db,
  inMemory: values["in-memory"],
  durability: values.durability === "normal" ? "normal" : "full",
  logger,
  onListening: ({ url, port }) =>
    process.stdout.write(`${JSON.stringify({ event: "listening", url, port })}\n`),
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    logger.error({ err }, "relay failed to start");
    process.exit(1);
  },
);
