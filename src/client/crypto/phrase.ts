// The recovery phrase: 24 English BIP39 words (256 bits of entropy + an 8-bit checksum).
// Everything the other keys come from, so it never appears in a message, a log line or a file.
import { generateMnemonic, validateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";

export const PHRASE_WORDS = 24;
const ENTROPY_BITS = 256;
const KNOWN_WORDS: ReadonlySet<string> = new Set(wordlist);

export type PhraseErrorReason = "word_count" | "unknown_word" | "checksum";

/**
 * A phrase that cannot be used. `message` and `hint` may name a word's position or the word count,
 * never a word: a user pasting the phrase into a bug report must not leak it through our errors.
 */
export class PhraseError extends Error {
  override readonly name = "PhraseError";
  constructor(
    readonly reason: PhraseErrorReason,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** A new 24-word English BIP39 phrase (256-bit entropy from the OS CSPRNG, via @scure/bip39). */
export function generatePhrase(): string {
  return generateMnemonic(wordlist, ENTROPY_BITS);
}

/**
 * The canonical form of a phrase: trimmed, lower case, words separated by exactly one ASCII space.
 * This string is the Argon2 password and the input of the salt, so two spellings of the same
 * phrase must map to it. Throws PhraseError unless it is 24 known words with a valid checksum.
 */
export function normalizePhrase(input: string): string {
  const trimmed = input.trim().toLowerCase();
  const words = trimmed === "" ? [] : trimmed.split(/\s+/u);
  if (words.length !== PHRASE_WORDS) {
    throw new PhraseError(
      "word_count",
      `the recovery phrase has ${words.length} word${words.length === 1 ? "" : "s"}, ${PHRASE_WORDS} expected`,
      `enter all ${PHRASE_WORDS} words of the recovery phrase, separated by spaces`,
    );
  }
  const unknown = words.findIndex((w) => !KNOWN_WORDS.has(w));
  if (unknown !== -1) {
    throw new PhraseError(
      "unknown_word",
      `word ${unknown + 1} of the recovery phrase is not in the BIP39 English word list`,
      `check the spelling of word ${unknown + 1}`,
    );
  }
  const phrase = words.join(" ");
  if (!validateMnemonic(phrase, wordlist)) {
    throw new PhraseError(
      "checksum",
      "the recovery phrase checksum does not match",
      "a word is wrong or two words are swapped: check the phrase against the one you wrote down",
    );
  }
  return phrase;
}
