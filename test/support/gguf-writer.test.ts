// The GGUF writer is checked against an independent reader (@huggingface/gguf) and the spec's layout rules;
// that llama.cpp itself loads its output is covered by test/real-engine/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gguf } from '@huggingface/gguf';
import { tensorBytes, toHalf, writeGguf } from './gguf-writer';
import { buildTinyModel, TINY_DEFAULTS } from './tiny-model';

async function readBack(buf: Buffer) {
  const dir = mkdtempSync(join(tmpdir(), 'gguf-writer-'));
  try {
    const file = join(dir, 'x.gguf');
    writeFileSync(file, buf);
    return await gguf(file, { allowLocalFile: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('every metadata value type round-trips through an independent reader', async () => {
  const buf = writeGguf({
    metadata: [
      { key: 'u8', type: 'UINT8', value: 255 },
      { key: 'i8', type: 'INT8', value: -128 },
      { key: 'u16', type: 'UINT16', value: 65535 },
      { key: 'i16', type: 'INT16', value: -32768 },
      { key: 'u32', type: 'UINT32', value: 4294967295 },
      { key: 'i32', type: 'INT32', value: -2147483648 },
      { key: 'f32', type: 'FLOAT32', value: 0.5 },
      { key: 'f64', type: 'FLOAT64', value: Math.PI },
      { key: 'u64', type: 'UINT64', value: 2n ** 63n + 5n },
      { key: 'i64', type: 'INT64', value: -(2n ** 62n) },
      { key: 'yes', type: 'BOOL', value: true },
      { key: 'no', type: 'BOOL', value: false },
      { key: 'str', type: 'STRING', value: 'héllo ▁ 🦙' },
      { key: 'arr.str', type: 'ARRAY', itemType: 'STRING', value: ['a', '', 'ü'] },
      { key: 'arr.i32', type: 'ARRAY', itemType: 'INT32', value: [1, -2, 3] },
      { key: 'arr.empty', type: 'ARRAY', itemType: 'FLOAT32', value: [] },
    ],
    tensors: [],
  });
  const { metadata } = await readBack(buf);
  const m = metadata as unknown as Record<string, unknown>;
  assert.equal(m.version, 3);
  assert.equal(m.tensor_count, 0n);
  assert.equal(m.kv_count, 16n);
  assert.equal(m.u8, 255);
  assert.equal(m.i8, -128);
  assert.equal(m.u16, 65535);
  assert.equal(m.i16, -32768);
  assert.equal(m.u32, 4294967295);
  assert.equal(m.i32, -2147483648);
  assert.equal(m.f32, 0.5);
  assert.equal(m.f64, Math.PI);
  assert.equal(m.u64, 2n ** 63n + 5n);
  assert.equal(m.i64, -(2n ** 62n));
  assert.equal(m.yes, true);
  assert.equal(m.no, false);
  assert.equal(m.str, 'héllo ▁ 🦙');
  assert.deepEqual(m['arr.str'], ['a', '', 'ü']);
  assert.deepEqual(m['arr.i32'], [1, -2, 3]);
  assert.deepEqual(m['arr.empty'], []);
});

test('tensor table: shapes, types, aligned offsets and data placement', async () => {
  const payload = Uint8Array.from({ length: 12 }, (_, i) => i + 1); // 3 × F32
  const buf = writeGguf({
    metadata: [{ key: 'general.alignment', type: 'UINT32', value: 64 }],
    tensors: [
      { name: 'a', type: 0, shape: [3], data: payload },
      { name: 'b', type: 1, shape: [5, 2] }, // 20 bytes, zero-filled
      { name: 'c', type: 12, shape: [256, 3] }, // Q4_K: 3 blocks × 144
    ],
  });
  const r = await readBack(buf);
  const infos = r.tensorInfos;
  assert.deepEqual(infos.map((t) => t.name), ['a', 'b', 'c']);
  assert.deepEqual(infos.map((t) => t.shape.map(Number)), [[3], [5, 2], [256, 3]]);
  assert.deepEqual(infos.map((t) => t.dtype), [0, 1, 12]);
  // Each offset is aligned to 64 and leaves room for the previous tensor.
  assert.deepEqual(infos.map((t) => Number(t.offset)), [0, 64, 128]);
  const start = Number(r.tensorDataOffset);
  assert.equal(start % 64, 0);
  assert.deepEqual([...buf.subarray(start, start + 12)], [...payload]);
  assert.equal(buf.length, start + 128 + 3 * 144 + (64 - ((3 * 144) % 64)));
  assert.equal(buf.length % 64, 0);
});

test('tensorBytes follows ggml block sizes and rejects what it cannot size', () => {
  assert.equal(tensorBytes(0, [4096, 32]), 4096 * 32 * 4);
  assert.equal(tensorBytes(8, [4096, 2]), 2 * (4096 / 32) * 34); // Q8_0
  assert.equal(tensorBytes(14, [4096, 10]), 10 * 16 * 210); // Q6_K
  assert.throws(() => tensorBytes(12, [100]), /multiple of block 256/);
  assert.throws(() => tensorBytes(9999, [1]), /no size for ggml type 9999/);
});

test('toHalf gives the IEEE binary16 bit patterns', () => {
  assert.equal(toHalf(1), 0x3c00);
  assert.equal(toHalf(-2), 0xc000);
  assert.equal(toHalf(0.5), 0x3800);
  assert.equal(toHalf(65504), 0x7bff); // max finite
  assert.equal(toHalf(1e6), 0x7c00); // overflow → +inf
  assert.equal(toHalf(2 ** -24), 0x0001); // smallest subnormal
  assert.equal(toHalf(2 ** -14), 0x0400); // smallest normal
  assert.equal(toHalf(0), 0);
  assert.equal(toHalf(Number.NaN) & 0x7c00, 0x7c00);
  assert.equal(toHalf(1 + 2 ** -11), 0x3c00); // tie rounds to even
  assert.equal(toHalf(1 + 3 * 2 ** -11), 0x3c02);
});

test('the tiny model is a well-formed llama GGUF', async () => {
  const { metadata, tensorInfos } = await readBack(buildTinyModel());
  const m = metadata as unknown as Record<string, unknown>;
  const s = TINY_DEFAULTS;
  assert.equal(m['general.architecture'], 'llama');
  assert.equal(m['llama.block_count'], s.nLayers);
  assert.equal(m['llama.attention.head_count_kv'], s.nKvHeads);
  assert.equal((m['tokenizer.ggml.tokens'] as string[]).length, s.vocab);
  assert.equal((m['tokenizer.ggml.scores'] as number[]).length, s.vocab);
  assert.equal(tensorInfos.length, 3 + 9 * s.nLayers);
  const k = tensorInfos.find((t) => t.name === 'blk.0.attn_k.weight')!;
  assert.deepEqual(k.shape.map(Number), [s.hidden, (s.hidden / s.nHeads) * s.nKvHeads]);
});
