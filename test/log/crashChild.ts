// A process that logs to a rotated log file and then dies of an uncaught exception the way the
// daemon handles one (main.ts): test/log/logFile.test.ts checks that every line reached the file.
// Usage: node crashChild.js <log path> <lines>
import { exitAfterFatal, openLogFile } from "../../src/log/logFile.js";
import { createLogger } from "../../src/log/logger.js";

const [path, count] = process.argv.slice(2);
if (!path || !count) throw new Error("usage: crashChild <log path> <lines>");
const output = openLogFile({ path, maxBytes: 10 * 1024 * 1024, files: 2 });
const logger = createLogger({ level: "info", destination: output.destination });
process.on("uncaughtException", (err) =>
  exitAfterFatal({ logger, output, err, msg: "uncaught exception", code: 70 }),
);
for (let seq = 0; seq < Number(count); seq++) logger.info({ seq, pad: "x".repeat(64) }, "before the crash");
setImmediate(() => {
  throw new Error("boom");
});
