// GGUF header reading: real header-only files, v2/v3, and hostile bytes (big-endian, truncated,
// absurd counts and lengths) that must end in a typed GgufError — never a crash, hang or huge allocation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { GgufError, isArraySummary, parseGgufHeader } from '../../src/gguf/parse';
import { readGgufHeader } from '../../src/gguf/read';
import { HEADERS } from '../support/llamacpp-groundtruth';

// --- a tiny GGUF byte builder (little-endian unless told otherwise) ---
class Bytes {
  private parts: Buffer[] = [];
  constructor(private readonly be = false) {}
  u32(v: number): this { const b = Buffer.alloc(4); this.be ? b.writeUInt32BE(v) : b.writeUInt32LE(v); this.parts.push(b); return this; }
  u64(v: bigint | number): this { const b = Buffer.alloc(8); this.be ? b.writeBigUInt64BE(BigInt(v)) : b.writeBigUInt64LE(BigInt(v)); this.parts.push(b); return this; }
  f32(v: number): this { const b = Buffer.alloc(4); b.writeFloatLE(v); this.parts.push(b); return this; }
  raw(b: Buffer | string): this { this.parts.push(Buffer.from(b)); return this; }
  str(s: string): this { return this.u64(Buffer.byteLength(s)).raw(s); }
  get length(): number { return this.parts.reduce((n, p) => n + p.length, 0); }
  build(): Uint8Array { return new Uint8Array(Buffer.concat(this.parts)); }
}

function sampleGguf(version: 2 | 3, alignment?: number): Uint8Array {
  const b = new Bytes().raw('GGUF').u32(version).u64(2).u64(alignment ? 6 : 5);
  b.str('general.architecture').u32(8).str('llama');
  b.str('llama.block_count').u32(4).u32(2);
  b.str('llama.rope.freq_base').u32(6).f32(10000);
  b.str('tokenizer.ggml.tokens').u32(9).u32(8).u64(3).str('a').str('b').str('c');
  b.str('general.use_it').u32(7).raw(Buffer.from([1]));
  if (alignment) b.str('general.alignment').u32(4).u32(alignment);
  b.str('token_embd.weight').u32(2).u64(64).u64(10).u32(1).u64(0);
  b.str('output_norm.weight').u32(1).u64(64).u32(0).u64(1280);
  return b.build();
}

test('parses a v3 header: metadata of each kind, tensor table, aligned data offset', () => {
  const bytes = sampleGguf(3);
  const h = parseGgufHeader(bytes);
  assert.equal(h.version, 3);
  assert.equal(h.metadata['general.architecture'], 'llama');
  assert.equal(h.metadata['llama.block_count'], 2);
  assert.equal(h.metadata['llama.rope.freq_base'], 10000);
  assert.deepEqual(h.metadata['tokenizer.ggml.tokens'], ['a', 'b', 'c']);
  assert.equal(h.metadata['general.use_it'], true);
  assert.deepEqual(h.tensors.map((t) => [t.name, t.type, t.shape, t.offset]), [
    ['token_embd.weight', 1, [64, 10], 0],
    ['output_norm.weight', 0, [64], 1280],
  ]);
  assert.equal(h.tensorDataOffset % 32, 0);
  assert.ok(h.tensorDataOffset >= bytes.length && h.tensorDataOffset - bytes.length < 32);
});

test('parses v2 and honours general.alignment', () => {
  const h = parseGgufHeader(sampleGguf(2, 64));
  assert.equal(h.version, 2);
  assert.equal(h.tensorDataOffset % 64, 0);
});

test('long arrays are summarised, not materialised', () => {
  const h = parseGgufHeader(sampleGguf(3), { maxArrayItems: 2 });
  const tokens = h.metadata['tokenizer.ggml.tokens'];
  assert.ok(isArraySummary(tokens));
  assert.equal(tokens.length, 3);
});

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof GgufError, `expected GgufError, got ${String(e)}`);
    return e.code;
  }
  return 'no error';
};

test('refuses big-endian files, bad magic and unknown versions with a clear code', () => {
  const be = new Bytes(true).raw('GGUF').u32(3).u64(0).u64(0).build();
  assert.equal(code(() => parseGgufHeader(be)), 'big-endian');
  assert.match(String((() => { try { parseGgufHeader(be); } catch (e) { return (e as Error).message; } })()), /big-endian/);
  assert.equal(code(() => parseGgufHeader(new Bytes().raw('GGML').u32(3).u64(0).u64(0).build())), 'not-gguf');
  assert.equal(code(() => parseGgufHeader(new Bytes().raw('GGUF').u32(1).u64(0).u64(0).build())), 'unsupported-version');
  assert.equal(code(() => parseGgufHeader(new Bytes().raw('GGUF').u32(7).u64(0).u64(0).build())), 'unsupported-version');
});

test('every truncation of a valid header (incl. mid-string) is reported as truncated', () => {
  const full = sampleGguf(3);
  for (let n = 0; n < full.length; n++) {
    assert.equal(code(() => parseGgufHeader(full.subarray(0, n))), n < 8 && n >= 0 ? 'truncated' : 'truncated', `prefix ${n}`);
  }
});

test('absurd counts and lengths are refused at once, without allocating', () => {
  const t0 = Date.now();
  const hugeTensors = new Bytes().raw('GGUF').u32(3).u64(2n ** 60n).u64(0).build();
  assert.equal(code(() => parseGgufHeader(hugeTensors)), 'corrupt');
  const hugeKv = new Bytes().raw('GGUF').u32(3).u64(0).u64(2n ** 40n).build();
  assert.equal(code(() => parseGgufHeader(hugeKv)), 'corrupt');
  const beyondSafe = new Bytes().raw('GGUF').u32(3).u64(2n ** 63n).u64(0).build();
  assert.equal(code(() => parseGgufHeader(beyondSafe)), 'corrupt');
  const hugeString = new Bytes().raw('GGUF').u32(3).u64(0).u64(1).u64(4n * 2n ** 30n).raw('key').raw(Buffer.alloc(16)).build();
  assert.equal(code(() => parseGgufHeader(hugeString)), 'corrupt');
  const hugeArray = new Bytes().raw('GGUF').u32(3).u64(0).u64(1).str('k').u32(9).u32(4).u64(2n ** 40n).build();
  assert.equal(code(() => parseGgufHeader(hugeArray)), 'corrupt');
  const badType = new Bytes().raw('GGUF').u32(3).u64(0).u64(1).str('k').u32(99).build();
  assert.equal(code(() => parseGgufHeader(badType)), 'corrupt');
  const badDims = new Bytes().raw('GGUF').u32(3).u64(1).u64(0).str('t').u32(1000).raw(Buffer.alloc(64)).build();
  assert.equal(code(() => parseGgufHeader(badDims)), 'corrupt');
  assert.ok(Date.now() - t0 < 1000);
});

test('fuzz: random corruption of a real header never escapes as anything but GgufError', () => {
  const full = sampleGguf(3);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(full.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), fc.nat(full.length), (edits, cut) => {
      const b = full.slice(0, Math.max(8, cut));
      for (const [i, v] of edits) if (i < b.length) b[i] = v;
      try {
        parseGgufHeader(b);
      } catch (e) {
        assert.ok(e instanceof GgufError, String(e));
      }
    }),
    { numRuns: 2000 },
  );
});

test('reads the shared header-only files (gzip and plain), growing its read window as needed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-gguf-'));
  for (const files of Object.values(HEADERS)) {
    const gz = await readGgufHeader(files.q4km);
    const plainPath = join(dir, 'h.gguf');
    writeFileSync(plainPath, gunzipSync(readFileSync(files.q4km)));
    const plain = await readGgufHeader(plainPath);
    assert.ok(plain.fileBytes > 1 << 20, 'header bigger than the first 1 MiB read');
    assert.equal(plain.tensorDataOffset, plain.fileBytes, 'header-only file ends where tensor data begins');
    assert.deepEqual(plain.tensors, gz.tensors);
    assert.equal(plain.metadata['general.architecture'], gz.metadata['general.architecture']);
  }
});

test('readGgufHeader: missing file, directory, size cap and truncated file give typed errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-gguf-'));
  await assert.rejects(readGgufHeader(join(dir, 'nope.gguf')), (e: unknown) => e instanceof GgufError && e.code === 'io');
  mkdirSync(join(dir, 'd.gguf'));
  await assert.rejects(readGgufHeader(join(dir, 'd.gguf')), (e: unknown) => e instanceof GgufError && e.code === 'io');
  const full = gunzipSync(readFileSync(HEADERS.llama!.q4km));
  writeFileSync(join(dir, 'big.gguf'), full);
  await assert.rejects(readGgufHeader(join(dir, 'big.gguf'), { maxBytes: 1 << 20 }), (e: unknown) => e instanceof GgufError && e.code === 'too-large');
  writeFileSync(join(dir, 'cut.gguf'), full.subarray(0, 3_000_000));
  await assert.rejects(readGgufHeader(join(dir, 'cut.gguf')), (e: unknown) => e instanceof GgufError && e.code === 'truncated' && e.message.includes('cut.gguf'));
  writeFileSync(join(dir, 'junk.gguf.gz'), Buffer.from('not gzip at all'));
  await assert.rejects(readGgufHeader(join(dir, 'junk.gguf.gz')), (e: unknown) => e instanceof GgufError && e.code === 'io');
});
