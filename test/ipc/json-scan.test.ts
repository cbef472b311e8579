import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { nestingExceeds, scanRawIds, stringEnd } from "../../src/ipc/json-scan.js";

const runs = { numRuns: 1000 };

/** The nesting depth, one character at a time: what nestingExceeds must agree with. */
function deepestNesting(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "[" || c === "{") deepest = Math.max(deepest, ++depth);
    else if (c === "]" || c === "}") depth--;
  }
  return deepest;
}

/** Text made of JSON's structural characters, quotes and backslashes (valid JSON or not). */
const structural = fc.string({
  unit: fc.constantFrom("[", "]", "{", "}", '"', "\\", "a", ",", ":"),
  maxLength: 200,
});

describe("scanRawIds", () => {
  it("returns the source text of a request's id, whatever its position and spacing", () => {
    assert.deepEqual(scanRawIds('{"jsonrpc":"2.0","id":18446744073709551615,"method":"m"}'), [
      "18446744073709551615",
    ]);
    assert.deepEqual(scanRawIds(' { "method" : "m" , "id" : 1.0 } '), ["1.0"]);
    assert.deepEqual(scanRawIds('{"params":{"id":5,"x":["id",{"id":6}]},"id":-7e2}'), ["-7e2"]);
    assert.deepEqual(scanRawIds('{"\\u0069d":1e400}'), ["1e400"]);
    assert.deepEqual(scanRawIds('{"id":1,"id":2}'), ["2"]);
    assert.deepEqual(scanRawIds('{"method":"m"}'), [undefined]);
    assert.deepEqual(scanRawIds("{}"), [undefined]);
  });

  it("returns one entry per batch element, skipping non-objects and deep nesting without recursion", () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const text = `[{"id":1},2,"x",${deep},{"a":"}]\\"","id":3.50},{"id":"s"},{}]`;
    assert.deepEqual(scanRawIds(text), ["1", undefined, undefined, undefined, "3.50", '"s"', undefined]);
    assert.deepEqual(scanRawIds("[]"), []);
    assert.deepEqual(scanRawIds("42"), []);
  });
});

describe("nestingExceeds", () => {
  it("counts array and object nesting, ignoring brackets inside strings", () => {
    assert.equal(nestingExceeds("[[{}]]", 3), false);
    assert.equal(nestingExceeds("[[{}]]", 2), true);
    assert.equal(nestingExceeds('[["[[[[\\\\",{"a":"{{{\\\\"}]]', 3), false);
    assert.equal(nestingExceeds('["\\"[[[["]', 1), false);
    assert.equal(nestingExceeds(`${"[]".repeat(10_000)}`, 1), false);
    assert.equal(nestingExceeds("[".repeat(1_000_000), 64), true);
  });

  it("agrees with a character-by-character count on any text, valid JSON or not", () => {
    fc.assert(
      fc.property(structural, fc.nat(6), (text, max) => {
        assert.equal(nestingExceeds(text, max), deepestNesting(text) > max, JSON.stringify(text));
      }),
      runs,
    );
  });
});

describe("stringEnd", () => {
  it("finds the quote closing a string: one not escaped by an odd run of backslashes", () => {
    assert.equal(stringEnd('"abc" x', 0), 4);
    assert.equal(stringEnd('"a\\"b" x', 0), 5);
    assert.equal(stringEnd('"a\\\\" x', 0), 4);
    assert.equal(stringEnd('"a\\\\\\"b" x', 0), 7);
    assert.equal(stringEnd('"abc', 0), -1);
    assert.equal(stringEnd('"abc\\"', 0), -1);
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), fc.string({ maxLength: 20 }), (value, rest) => {
        const text = JSON.stringify(value);
        assert.equal(stringEnd(text + rest, 0), text.length - 1);
      }),
      runs,
    );
  });
});

describe("scanRawIds on generated messages", () => {
  // Number spellings JSON.parse would not give back as written, and members of any JSON around them.
  const rawNumber = fc.constantFrom("1", "1.0", "-0", "1e2", "18446744073709551615", "0.10", "-7E+2");
  const member = fc.tuple(fc.string({ maxLength: 8 }), fc.json({ maxDepth: 3 }));
  const object = fc
    .record({
      before: fc.array(member, { maxLength: 4 }),
      id: rawNumber,
      after: fc.array(member, { maxLength: 4 }),
    })
    .filter(({ before, after }) => ![...before, ...after].some(([key]) => key === "id"))
    .map(({ before, id, after }) => {
      const members = [...before.map(([k, v]) => `${JSON.stringify(k)}:${v}`), `"id" : ${id}`];
      members.push(...after.map(([k, v]) => `${JSON.stringify(k)}: ${v}`));
      return { text: ` { ${members.join(" , ")} } `, id };
    });

  it("returns the id's source text of a message and of each message of a batch", () => {
    fc.assert(
      fc.property(object, ({ text, id }) => {
        JSON.parse(text);
        assert.deepEqual(scanRawIds(text), [id]);
      }),
      runs,
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(object, fc.json({ maxDepth: 2 })), { maxLength: 5 }), (elements) => {
        const text = `[${elements.map((e) => (typeof e === "string" ? e : e.text)).join(",")}]`;
        const expected = elements.map((e) => {
          if (typeof e !== "string") return e.id;
          const value: unknown = JSON.parse(e);
          if (typeof value !== "object" || value === null || Array.isArray(value) || !("id" in value))
            return undefined;
          return JSON.stringify(value.id) === undefined ? undefined : "?";
        });
        const ids = scanRawIds(text);
        assert.equal(ids.length, elements.length);
        expected.forEach((want, i) => {
          if (want !== "?") assert.equal(ids[i], want, text);
          else
            assert.equal(
              JSON.stringify(JSON.parse(ids[i]!)),
              JSON.stringify((JSON.parse(text) as { id: unknown }[])[i]!.id),
            );
        });
      }),
      runs,
    );
  });
});
