import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LineReader, LineTooLongError } from "../../src/client/lineReader.js";

function feed(reader: LineReader, bytes: Buffer, chunkSizes: () => number): string[] {
  const out: string[] = [];
  for (let i = 0; i < bytes.length;) {
    const n = Math.max(1, chunkSizes());
    for (const line of reader.push(bytes.subarray(i, i + n))) out.push(line.toString("utf8"));
    i += n;
  }
  return out;
}

describe("LineReader", () => {
  it("yields the same lines whatever the chunking, multi-byte characters split included", () => {
    const lines = ["", "héllo wörld ✓", "x".repeat(70_000), '{"a":1}\r', "🙂".repeat(1000)];
    const bytes = Buffer.from(lines.join("\n") + "\n");
    const expected = lines.map((l) => l.replace(/\r$/, ""));
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 5000;
    for (const sizes of [() => 1, () => 3, random, () => bytes.length]) {
      assert.deepEqual(feed(new LineReader(), bytes, sizes), expected);
    }
  });

  it("keeps an unterminated tail until its newline arrives", () => {
    const reader = new LineReader();
    assert.deepEqual(reader.push(Buffer.from("abc")), []);
    assert.equal(reader.buffered, 3);
    assert.deepEqual(
      reader.push(Buffer.from("def\ng")).map((b) => b.toString()),
      ["abcdef"],
    );
    assert.equal(reader.buffered, 1);
  });

  it("throws LineTooLongError once a line passes the cap, even without a newline", () => {
    const reader = new LineReader(10);
    assert.deepEqual(reader.push(Buffer.from("0123456789\n")).length, 1);
    reader.push(Buffer.from("01234"));
    assert.throws(() => reader.push(Buffer.from("567890")), LineTooLongError);
  });
});
