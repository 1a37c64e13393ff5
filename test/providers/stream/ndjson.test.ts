// NDJSON decoding (Ollama streaming) with splits at every byte offset, multi-byte characters and garbage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NdjsonDecoder } from '../../../src/providers/stream/ndjson';
import { cut, fixture } from './split';

// An Ollama /api/chat stream assembled from the recorded chunk and final objects, with non-ASCII content.
function ollamaStream(): { buf: Buffer; objects: unknown[] } {
  const chunk = JSON.parse(fixture('ollama/api_generate_stream_chunk.json').toString('utf8')) as Record<string, unknown>;
  const final = JSON.parse(fixture('ollama/api_chat_final.json').toString('utf8')) as Record<string, unknown>;
  const objects: unknown[] = ['Bonjour', ' 世界', ' 👋🏽', ' naïve'].map((response) => ({ ...chunk, response }));
  objects.push(final);
  return { buf: Buffer.from(objects.map((o) => JSON.stringify(o)).join('\n') + '\n', 'utf8'), objects };
}

function decodeAll(pieces: Uint8Array[]): { values: unknown[]; bad: number } {
  const d = new NdjsonDecoder();
  const values: unknown[] = [];
  for (const p of pieces) values.push(...d.push(p));
  values.push(...d.end());
  return { values, bad: d.badLines };
}

test('every two-piece split of an Ollama stream decodes to the same objects', () => {
  const { buf, objects } = ollamaStream();
  for (let i = 0; i <= buf.length; i++) {
    const r = decodeAll(cut(buf, [i]));
    assert.deepEqual(r.values, objects, `split at ${i}`);
    assert.equal(r.bad, 0);
  }
});

test('random many-piece splits', () => {
  const { buf, objects } = ollamaStream();
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 0, max: buf.length }), { maxLength: 60 }), (offs) => {
      assert.deepEqual(decodeAll(cut(buf, [...offs].sort((a, b) => a - b))).values, objects);
    }),
    { numRuns: 200 },
  );
});

test('CRLF line ends, a missing final newline and blank lines', () => {
  const r = decodeAll([Buffer.from('{"a":1}\r\n\r\n{"b":"é"}\r'), Buffer.from('\n{"c":3}')]);
  assert.deepEqual(r.values, [{ a: 1 }, { b: 'é' }, { c: 3 }]);
});

test('garbage lines are counted and skipped, never thrown', () => {
  const r = decodeAll([Buffer.from('{"a":1}\nnot json\n{"b":\n\u0000\u0001\n{"c":2}\n'), Buffer.from([0xff, 0xc3, 0x0a])]);
  assert.deepEqual(r.values, [{ a: 1 }, { c: 2 }]);
  assert.equal(r.bad, 4);
});

test('an over-long line is dropped and the stream continues', () => {
  const d = new NdjsonDecoder({ maxLineChars: 32 });
  const out = d.push(Buffer.from(`{"x":"${'y'.repeat(100)}"}\n{"ok":true}\n`));
  assert.deepEqual(out, [{ ok: true }]);
  assert.equal(d.droppedLines, 1);
});
