// The loader hooks of loadedModules.ts: record each ES module loaded, then load it as usual.
import { appendFileSync } from "node:fs";

let out = "";

export function initialize(data: { out: string }): void {
  out = data.out;
}

export async function load(
  url: string,
  context: object,
  next: (url: string, context: object) => Promise<unknown>,
): Promise<unknown> {
  if (!url.startsWith("node:")) appendFileSync(out, url + "\n");
  return next(url, context);
}
