// LineSplitter decodes most chunks in one shot and falls back to the streaming decoder only when a chunk ends
// mid-character; either way the lines must be exactly those of decoding the whole input at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineSplitter } from '../../../src/providers/stream/lines';
import { cut, fixture } from './split';

function linesOf(pieces: Uint8Array[], crIsNewline: boolean): string[] {
  const s = new LineSplitter({ crIsNewline });
  const out: string[] = [];
  for (const p of pieces) out.push(...s.push(p));
  return [...out, ...s.end()];
}

/** Reference: WHATWG-decode everything at once, then split on the same line ends. */
function reference(bytes: Uint8Array, crIsNewline: boolean): string[] {
  const text = new TextDecoder().decode(bytes);
  const lines = text.split(crIsNewline ? /\r\n|\r|\n/ : /\n/);
  const last = lines.pop()!; // the unterminated rest, kept as is
  const done = crIsNewline ? lines : lines.map((l) => l.replace(/\r$/, ''));
  return last === '' ? done : [...done, last];
}

test('multi-byte characters, CRLF and invalid UTF-8 cut anywhere give the lines of a whole-input decode', () => {
  // Bytes drawn mostly (a BOM included: only the stream's first one is dropped) from the troublesome ones: newlines, CR, lead and continuation bytes, ASCII.
  const byte = fc.oneof(fc.constantFrom(10, 13, 0x41, 0xef, 0xbb, 0xbf, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xff), fc.integer({ min: 0, max: 255 }));
  fc.assert(
    fc.property(fc.array(byte, { maxLength: 120 }), fc.uniqueArray(fc.nat(120), { maxLength: 8 }), fc.boolean(), (arr, offs, cr) => {
      const bytes = Uint8Array.from(arr);
      const cuts = offs.filter((o) => o <= bytes.length).sort((a, b) => a - b);
      assert.deepEqual(linesOf(cut(bytes, cuts), cr), reference(bytes, cr));
    }),
    { numRuns: 3000 },
  );
});

test('a recorded llama.cpp SSE stream splits the same in any pieces as in one', () => {
  const buf = fixture('llama.cpp/completion_stream.sse');
  const whole = linesOf([buf], true);
  assert.ok(whole.length > 10);
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 0, max: buf.length }), { maxLength: 40 }), (offs) => {
      assert.deepEqual(linesOf(cut(buf, [...offs].sort((a, b) => a - b)), true), whole);
    }),
    { numRuns: 200 },
  );
});

test('a BOM is dropped at the start of the stream only, wherever the chunks are cut', () => {
  const bytes = Buffer.from('\uFEFFdata: é\n\uFEFFkept\n', 'utf8');
  for (let a = 0; a <= bytes.length; a++) {
    for (let b = a; b <= bytes.length; b++) {
      assert.deepEqual(linesOf(cut(bytes, [a, b]), true), ['data: é', '\uFEFFkept'], `cut at ${a}, ${b}`);
    }
  }
});
