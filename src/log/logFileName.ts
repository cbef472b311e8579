// The names of the background log's files, shared by the writer (logFile.ts) and the reader
// (`caro-sync logs`), which has no use for the writer's library.

/** The `index`th rotated file of `path`: 1 is the newest, then 2, … up to logFiles - 1. */
export function rotatedLogPath(path: string, index: number): string {
  return `${path}.${index}`;
}
