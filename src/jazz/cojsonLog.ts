// cojson logs through one process-wide logger (console by default, INFO and up). Route it into
// ours at WARN, so its lines are structured, levelled and redacted like every other line.
import { logger as cojsonLogger, LogLevel } from "cojson";
import type { Logger } from "../log/logger.js";

export function routeCojsonLogs(logger: Logger): void {
  const log = logger.child({ component: "cojson" });
  cojsonLogger.setLevel(LogLevel.WARN);
  cojsonLogger.setLogSystem({
    debug: (msg, attrs) => log.debug(attrs ?? {}, msg),
    info: (msg, attrs) => log.info(attrs ?? {}, msg),
    warn: (msg, attrs) => log.warn(attrs ?? {}, msg),
    error: (msg, attrs) => log.error(attrs ?? {}, msg),
  });
}
