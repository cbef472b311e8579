// One pino JSON line (src/log/logger.ts) for a human: local time, level, message, then the other
// fields as key=value. A line that is not a JSON object is shown as it is.
import type { Colors } from "../ui.js";

/** pino's numeric levels. */
const LEVELS: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};
/** Fields every line carries and the front of the line already shows (or that say nothing new). */
const SHOWN = new Set(["level", "time", "msg", "pid", "hostname", "name", "v"]);

export function parseLogLine(line: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

export function formatLogLine(line: string, c: Colors): string {
  const rec = parseLogLine(line);
  if (rec === null) return line;
  const level = levelName(rec.level);
  const paint =
    level === "ERROR" || level === "FATAL"
      ? (s: string) => c.bold(c.red(s))
      : level === "WARN"
        ? c.yellow
        : level === "INFO"
          ? c.green
          : c.dim;
  const time = typeof rec.time === "number" ? localTime(rec.time) : "-".padEnd(23);
  const msg = typeof rec.msg === "string" ? rec.msg : "";
  const rest = Object.entries(rec)
    .filter(([k]) => !SHOWN.has(k))
    .map(([k, v]) => c.dim(`${k}=`) + compact(k, v));
  return [c.dim(time), paint(level.padEnd(5)), msg, ...rest].filter((s) => s !== "").join(" ");
}

function levelName(level: unknown): string {
  if (typeof level === "number") return LEVELS[level] ?? String(level);
  return typeof level === "string" ? level.toUpperCase() : "?";
}

/** "2025-01-02 03:04:05.678" in the local time zone. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return (
    `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
  );
}

/** Plain words bare, anything with spaces or quotes as JSON; an error as "Type: message". */
function compact(key: string, value: unknown): string {
  if (key === "err" && value !== null && typeof value === "object") {
    const e = value as { type?: unknown; message?: unknown };
    const text = [e.type, e.message].filter((s) => typeof s === "string" && s !== "").join(": ");
    if (text !== "") return JSON.stringify(text);
  }
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}
