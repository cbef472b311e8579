// readLeadingId: the id of an over-long line from a prefix that may end anywhere.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readLeadingId } from "../../src/ipc/leadingId.js";

const read = (text: string) => readLeadingId(Buffer.from(text));

describe("readLeadingId", () => {
  it("returns the id's source text when it and every member before it are complete", () => {
    assert.equal(read('{"id":1,"params":{"a'), "1");
    assert.equal(read('{"jsonrpc":"2.0","method":"x","id":"a\\"b","params":['), '"a\\"b"');
    assert.equal(read('\ufeff {\n "id" : 18446744073709551615 }'), "18446744073709551615");
    assert.equal(read('{"jsonrpc":"2.0","id":null,"p'), "null");
    assert.equal(read('{"x":[1,{"y":"}"}],"n":-1.5e+3,"t":true,"id":2.50,'), "2.50");
    assert.equal(read('{"\\u0069d":"escaped-key",'), '"escaped-key"');
  });

  it("returns undefined when the id cannot be known from the prefix", () => {
    for (const text of [
      '{"id":12', // the number may go on
      '{"id":"abc', // unterminated string
      '{"params":{"entries":["aaaa', // cut before any id
      '[{"id":1,"method":"daemon.ping"}', // a batch: no single id
      '{"id":{"a":1},', // not a JSON-RPC id
      '{"id":true,', // not a JSON-RPC id
      '{"id":01,', // not JSON
      "not json at all",
      "",
    ]) {
      assert.equal(read(text), undefined, text);
    }
  });

  it("handles a prefix cut inside a multi-byte character and refuses invalid UTF-8", () => {
    const bytes = Buffer.from('{"id":"€","p":"€€');
    assert.equal(readLeadingId(bytes.subarray(0, bytes.length - 1)), '"€"');
    assert.equal(
      readLeadingId(Buffer.concat([Buffer.from('{"id":"'), Buffer.from([0xff]), Buffer.from('",')])),
      undefined,
    );
  });
});
