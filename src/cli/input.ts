// Reading what the user hands us: a JSON file or stdin, and a yes/no confirmation.
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline/promises";
import password from "@inquirer/password";
import { UsageError } from "./exitCodes.js";

/** The whole of FILE, or of stdin when FILE is absent or "-". Refuses an interactive stdin. */
export async function readInput(
  file: string | undefined,
  what: string,
): Promise<{ text: string; source: string }> {
  if (file !== undefined && file !== "-") {
    try {
      return { text: await readFile(file, "utf8"), source: file };
    } catch (err) {
      throw new UsageError(
        `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  if (process.stdin.isTTY) {
    throw new UsageError(`expected ${what} on stdin`, "pipe them in, or pass a file name");
  }
  return { text: await readStdin(), source: "stdin" };
}

/** Entries to push: a JSON array, or an object `{entries: [...], ack?}`. */
export function parseEntries(text: string, source: string): { entries: unknown[]; ack?: "local" | "relay" } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${source} is not valid JSON (${(err as Error).message})`);
  }
  const shape = 'expected a JSON array of entries or {"entries": [...]}';
  if (Array.isArray(doc)) return { entries: doc as unknown[] };
  if (doc === null || typeof doc !== "object" || !Array.isArray((doc as { entries?: unknown }).entries)) {
    throw new UsageError(`${source}: ${shape}`);
  }
  const { entries, ack } = doc as { entries: unknown[]; ack?: unknown };
  if (ack !== undefined && ack !== "local" && ack !== "relay") {
    throw new UsageError(`${source}: "ack" must be "local" or "relay"`);
  }
  return ack === undefined ? { entries } : { entries, ack };
}

/** Asks on the terminal; true only for "y" or "yes". */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** All of stdin as text (for --phrase-stdin and the like). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Asks on the terminal without echoing what is typed (the prompt goes to stderr). */
export function readSecretLine(message: string): Promise<string> {
  return password({ message, mask: false }, { output: process.stderr });
}
