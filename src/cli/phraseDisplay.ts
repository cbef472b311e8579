// Showing a new recovery phrase once, and checking that the user wrote it down.
import { randomInt } from "node:crypto";
import { createInterface } from "node:readline/promises";
import { PHRASE_WORDS } from "../client/crypto/index.js";
import { colors } from "./ui.js";

/** The phrase as a numbered grid (4 columns), with what it is for. */
export function phraseGrid(phrase: string): string[] {
  const words = phrase.split(" ");
  const rows = PHRASE_WORDS / 4;
  const cell = (i: number) => `${String(i + 1).padStart(2)}. ${(words[i] ?? "").padEnd(10)}`;
  const lines = Array.from({ length: rows }, (_, r) =>
    [0, 1, 2, 3]
      .map((c) => cell(c * rows + r))
      .join("  ")
      .trimEnd(),
  );
  return [
    colors.bold("Your recovery phrase (shown only this once):"),
    "",
    ...lines.map((l) => `  ${l}`),
    "",
    "Write it down and keep it safe: it is the only way to add a device or to recover your history.",
    "Anyone who has it can read your synced history.",
  ];
}

/** Asks for one word of the phrase, chosen at random; three tries. */
export async function confirmPhraseSaved(phrase: string): Promise<boolean> {
  const words = phrase.split(" ");
  const index = randomInt(words.length);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    for (let tries = 0; tries < 3; tries++) {
      const answer = await rl.question(`To confirm you saved it, type word #${index + 1}: `);
      if (answer.trim().toLowerCase() === words[index]) return true;
      process.stderr.write("That is not the word. Check what you wrote down.\n");
    }
    return false;
  } finally {
    rl.close();
  }
}
