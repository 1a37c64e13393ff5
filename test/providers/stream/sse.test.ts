// SSE decoding of real llama.cpp streams, fed in every possible two-piece split and in random many-piece
// splits: the events must not depend on where the network cut the bytes (incl. inside UTF-8 characters).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SseDecoder, type SseEvent } from '../../../src/providers/stream/sse';
import { cut, fixture } from './split';

const FILES = ['llama.cpp/v1_chat_completions_stream.sse', 'llama.cpp/v1_chat_completions_stream_include_usage.sse', 'llama.cpp/completion_stream.sse'];

function decodeAll(pieces: Uint8Array[]): SseEvent[] {
  const d = new SseDecoder();
  const out: SseEvent[] = [];
  for (const p of pieces) out.push(...d.push(p));
  out.push(...d.end());
  return out;
}

/** Independent reference: the recorded files use LF and one `data: ` line per event. */
function reference(buf: Buffer): string[] {
  return buf
    .toString('utf8')
    .split('\n\n')
    .filter((b) => b.startsWith('data: '))
    .map((b) => b.slice('data: '.length));
}

for (const file of FILES) {
  test(`${file}: every two-piece split yields the same events as the reference`, () => {
    const buf = fixture(file);
    const ref = reference(buf);
    assert.ok(ref.length >= 9);
    for (let i = 0; i <= buf.length; i++) {
      const evs = decodeAll(cut(buf, [i]));
      assert.deepEqual(
        evs.map((e) => e.data),
        ref,
        `split at byte ${i}`,
      );
    }
  });

  test(`${file}: random many-piece splits`, () => {
    const buf = fixture(file);
    const ref = reference(buf);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: buf.length }), { maxLength: 40 }), (offs) => {
        assert.deepEqual(
          decodeAll(cut(buf, [...offs].sort((a, b) => a - b))).map((e) => e.data),
          ref,
        );
      }),
      { numRuns: 200 },
    );
  });
}

test('multi-byte characters cut across chunks survive byte-at-a-time feeding', () => {
  const buf = fixture('llama.cpp/completion_stream.sse');
  const evs = decodeAll(cut(buf, Array.from({ length: buf.length - 1 }, (_, i) => i + 1)));
  const contents = evs.map((e) => (JSON.parse(e.data) as { content: string }).content);
  assert.ok(contents.includes('طلق'));
  assert.ok(contents.includes(' صنعتی'));
});

test('CRLF and lone CR line ends, split between CR and LF', () => {
  const text = 'event: a\r\ndata: 1\r\ndata: 2\r\n\r\n: keepalive\rdata:x\r\rdata: é\n\n';
  const buf = Buffer.from(text, 'utf8');
  for (let i = 0; i <= buf.length; i++) {
    const evs = decodeAll(cut(buf, [i]));
    assert.deepEqual(evs, [{ event: 'a', data: '1\n2' }, { data: 'x' }, { data: 'é' }], `split at ${i}`);
  }
});

test('garbage and unterminated input never throw; an unterminated event is discarded', () => {
  const d = new SseDecoder();
  assert.deepEqual(d.push(Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0x0a, 0xc3, 0x0a, 0x0a])), []);
  assert.deepEqual(d.push(Buffer.from('data: {"a":1}\n\ndata: half')), [{ data: '{"a":1}' }]);
  assert.deepEqual(d.end(), []);
});

test('an event over the cap is dropped and counted, later events still decode', () => {
  const d = new SseDecoder({ maxEventChars: 64 });
  const big = 'data: ' + 'x'.repeat(200) + '\n\n';
  const evs = d.push(Buffer.from(big + 'data: ok\n\n'));
  assert.deepEqual(evs, [{ data: 'ok' }]);
  assert.equal(d.droppedLines + d.droppedEvents, 1);
});
