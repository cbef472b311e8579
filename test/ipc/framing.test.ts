import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LineFramer, type FrameEvent } from "../../src/ipc/framing.js";
import { MAX_LINE_BYTES } from "../../src/protocol.js";
import { mulberry32 } from "./prng.js";

/** Feeds `input` in the given chunk sizes, taking every event after each chunk. */
function frame(
  input: Buffer,
  sizes: () => number,
  maxLineBytes = 64,
): { events: FrameEvent[]; peak: number } {
  const framer = new LineFramer({ maxLineBytes });
  const events: FrameEvent[] = [];
  let peak = 0;
  const drain = () => {
    for (let e = framer.next(); e !== undefined; e = framer.next()) events.push(e);
    peak = Math.max(peak, framer.bufferedBytes);
  };
  for (let i = 0; i < input.length;) {
    const n = Math.max(1, sizes());
    framer.push(input.subarray(i, i + n));
    peak = Math.max(peak, framer.bufferedBytes);
    drain();
    i += n;
  }
  framer.end();
  drain();
  return { events, peak };
}

const whole = (input: Buffer, max?: number) => frame(input, () => input.length || 1, max).events;

describe("LineFramer", () => {
  it("splits on \\n, strips a trailing \\r and skips empty and blank lines", () => {
    const events = whole(Buffer.from('a\n\nb\r\n\r\n  \t\nc\r\r\n{"x":1}'));
    assert.deepEqual(events, [
      { kind: "line", text: "a" },
      { kind: "line", text: "b" },
      { kind: "line", text: "c\r" },
      { kind: "line", text: '{"x":1}' },
    ]);
  });

  it("gives the same lines for any chunking, including splits inside multi-byte characters", () => {
    const text = Array.from({ length: 200 }, (_, i) => `{"id":${i},"s":"é€😀𝄞ü ${"x".repeat(i % 7)}"}`)
      .map((l, i) => (i % 5 === 0 ? `${l}\r\n\n` : `${l}\n`))
      .join("");
    const input = Buffer.from(text);
    const expected = whole(input, 1024);
    assert.equal(expected.length, 200);
    for (let seed = 1; seed <= 50; seed++) {
      const rnd = mulberry32(seed);
      const maxChunk = 1 + Math.floor(rnd() * 40);
      const { events } = frame(input, () => 1 + Math.floor(rnd() * maxChunk), 1024);
      assert.deepEqual(events, expected, `seed ${seed}`);
    }
    assert.deepEqual(frame(input, () => 1, 1024).events, expected);
  });

  it("reports invalid UTF-8 instead of replacing it, and keeps going", () => {
    for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]]) {
      const input = Buffer.concat([Buffer.from("ok1\n"), Buffer.from(bad), Buffer.from("\nok2\n")]);
      assert.deepEqual(whole(input), [
        { kind: "line", text: "ok1" },
        { kind: "invalidUtf8" },
        { kind: "line", text: "ok2" },
      ]);
    }
  });

  it("accepts a line of exactly the limit (plus \\r) and reports one byte more as oversize", () => {
    const max = 32;
    const exact = "a".repeat(max);
    assert.deepEqual(whole(Buffer.from(`${exact}\r\n${exact}\n`), max), [
      { kind: "line", text: exact },
      { kind: "line", text: exact },
    ]);
    assert.deepEqual(whole(Buffer.from(`${exact}b\nok\n`), max), [
      { kind: "oversize", limit: max },
      { kind: "line", text: "ok" },
    ]);
  });

  it("reports an oversize line once, discards it without buffering it, and resumes at the next line", () => {
    const max = 100;
    const input = Buffer.from(`first\n${"z".repeat(10_000)}\nsecond\n${"y".repeat(5_000)}`);
    for (let seed = 1; seed <= 20; seed++) {
      const rnd = mulberry32(seed);
      const { events, peak } = frame(input, () => 1 + Math.floor(rnd() * 300), max);
      assert.deepEqual(
        events,
        [
          { kind: "line", text: "first" },
          { kind: "oversize", limit: max },
          { kind: "line", text: "second" },
          { kind: "oversize", limit: max },
        ],
        `seed ${seed}`,
      );
      assert.ok(peak <= max + 1 + 300, `held ${peak} bytes (seed ${seed})`);
    }
  });

  it("holds at most the limit plus one chunk while a huge line streams in", () => {
    const framer = new LineFramer();
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const events: FrameEvent[] = [];
    for (let i = 0; i < 80; i++) {
      framer.push(chunk);
      for (let e = framer.next(); e; e = framer.next()) events.push(e);
      assert.ok(framer.bufferedBytes <= MAX_LINE_BYTES + 1, `buffered ${framer.bufferedBytes}`);
    }
    assert.deepEqual(events, [{ kind: "oversize", limit: MAX_LINE_BYTES }]);
    assert.equal(framer.bufferedBytes, 0);
    framer.push(Buffer.from("tail\nnext\n"));
    assert.deepEqual(framer.next(), { kind: "line", text: "next" });
  });

  it("delivers a final line without \\n at end of input, but not an unfinished oversize one", () => {
    assert.deepEqual(whole(Buffer.from("a\nlast")), [
      { kind: "line", text: "a" },
      { kind: "line", text: "last" },
    ]);
    assert.deepEqual(whole(Buffer.from("x".repeat(100)), 10), [{ kind: "oversize", limit: 10 }]);
  });

  it("reports the id of an oversize line from its first bytes, however the line is chunked", () => {
    const max = 64;
    const input = Buffer.from(
      `{"id":"é-1","p":"${"z".repeat(200)}"}\n{"jsonrpc":"2.0","id":-7.5e3,"x":"${"z".repeat(80)}"}\n{"p":"${"z".repeat(100)}","id":1}\n`,
    );
    for (let seed = 1; seed <= 20; seed++) {
      const rnd = mulberry32(seed);
      const { events } = frame(input, () => 1 + Math.floor(rnd() * 50), max);
      assert.deepEqual(
        events,
        [
          { kind: "oversize", limit: max, id: '"é-1"' },
          { kind: "oversize", limit: max, id: "-7.5e3" },
          { kind: "oversize", limit: max },
        ],
        `seed ${seed}`,
      );
    }
  });

  it("leaves lines in the framer until they are taken (pull-based)", () => {
    const framer = new LineFramer();
    framer.push(Buffer.from("a\nb\nc"));
    assert.deepEqual(framer.next(), { kind: "line", text: "a" });
    assert.equal(framer.bufferedBytes, 3);
    assert.deepEqual(framer.next(), { kind: "line", text: "b" });
    assert.equal(framer.next(), undefined);
    assert.equal(framer.bufferedBytes, 1);
    framer.push(Buffer.from("d\n"));
    assert.deepEqual(framer.next(), { kind: "line", text: "cd" });
  });
});
