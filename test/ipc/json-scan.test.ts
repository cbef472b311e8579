import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nestingExceeds, scanRawIds } from "../../src/ipc/json-scan.js";

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
});
