// The recovery phrase: generation, normalisation, and errors that never quote a word of it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import {
  PHRASE_WORDS,
  PhraseError,
  generatePhrase,
  normalizePhrase,
  type PhraseErrorReason,
} from "../../../src/client/crypto/index.js";
import { vectors as v } from "./vectors.js";

const words = (p: string) => p.split(" ");

/** The PhraseError normalizePhrase(input) throws; fails unless it has this reason. */
function errorOf(input: string, reason: PhraseErrorReason): PhraseError {
  try {
    normalizePhrase(input);
  } catch (err) {
    assert.ok(err instanceof PhraseError, `expected a PhraseError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    return err;
  }
  assert.fail("the phrase was accepted");
}

/** Refused with `reason`, and neither message, hint nor stack contains any word of `input`. */
function refuses(input: string, reason: PhraseErrorReason): void {
  const err = errorOf(input, reason);
  const text = `${err.message}\n${err.hint}\n${String(err.stack)}`.toLowerCase();
  for (const word of input.toLowerCase().split(/\s+/).filter(Boolean)) {
    assert.ok(!new RegExp(`\\b${word}\\b`).test(text), `the error mentions a word of the phrase: ${word}`);
  }
}

/** The same failure on two different phrases reads the same: the text cannot carry a word. */
function sameError(a: string, b: string, reason: PhraseErrorReason): void {
  const [ea, eb] = [errorOf(a, reason), errorOf(b, reason)];
  assert.deepEqual([ea.message, ea.hint], [eb.message, eb.hint]);
}

// The vector phrase's words (abandon, art) and the substitutes below (zoo, abandonn) appear in no
// message template, so a word-by-word search is meaningful for them. Random phrases are compared
// with sameError instead: they may contain an everyday word ("all", "one") that a hint also uses.
/** `phrase` with its last word replaced by another valid word, which a guaranteed checksum failure. */
function withLastWordChanged(phrase: string): string {
  const w = words(phrase);
  const last = wordlist.indexOf(w[23]!);
  // The low 8 of the last word's 11 bits are checksum: flipping bit 0 breaks it every time.
  w[23] = wordlist[last ^ 1]!;
  return w.join(" ");
}

describe("recovery phrase", () => {
  it("generates 24 distinct-looking valid English words each time", () => {
    const [a, b] = [generatePhrase(), generatePhrase()];
    assert.equal(PHRASE_WORDS, 24);
    assert.equal(words(a).length, 24);
    assert.ok(words(a).every((w) => wordlist.includes(w)));
    assert.equal(normalizePhrase(a), a);
    assert.notEqual(a, b);
  });

  it("normalises case and any whitespace to one space", () => {
    const messy = `\n  ${words(v.phrase)
      .map((w, i) => (i % 2 ? w.toUpperCase() : w))
      .join(" \t\u00a0 ")}\r\n`;
    assert.equal(normalizePhrase(messy), v.phrase);
  });

  it("refuses a phrase with a wrong checksum", () => {
    refuses(v.phrase.replace(/art$/, "zoo"), "checksum");
    refuses(`art ${words(v.phrase).slice(0, 23).join(" ")}`, "checksum");
    sameError(withLastWordChanged(generatePhrase()), withLastWordChanged(generatePhrase()), "checksum");
  });

  it("refuses 23 words, 25 words and nothing at all", () => {
    refuses(words(v.phrase).slice(1).join(" "), "word_count");
    refuses(`${v.phrase} abandon`, "word_count");
    refuses("   ", "word_count");
    sameError(
      words(generatePhrase()).slice(1).join(" "),
      words(generatePhrase()).slice(1).join(" "),
      "word_count",
    );
  });

  it("refuses an unknown word and says which position, not which word", () => {
    const typo = (phrase: string) =>
      words(phrase)
        .map((w, i) => (i === 4 ? `${w}x` : w))
        .join(" ");
    assert.match(errorOf(typo(v.phrase), "unknown_word").message, /word 5\b/);
    refuses(typo(v.phrase), "unknown_word");
    refuses(typo(v.phrase).replace("abandonx", "abandonn"), "unknown_word");
    sameError(typo(generatePhrase()), typo(generatePhrase()), "unknown_word");
  });
});
