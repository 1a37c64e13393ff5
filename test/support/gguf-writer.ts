// A small GGUF v3 writer for tests: real files that llama.cpp loads, and hand-made edge cases for the reader.
// Layout (little-endian): magic "GGUF", version, tensor count (u64), KV count (u64), KVs, tensor infos,
// padding to `general.alignment` (default 32), tensor data with each tensor aligned.
// Spec: ggml/docs/gguf.md in llama.cpp.

/** GGUF metadata value types (gguf_type). */
export const GgufType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufTypeName = keyof typeof GgufType;

export type GgufScalar = number | bigint | boolean | string;

/**
 * One metadata entry. Scalars: `type` is the value type. Arrays: `type: 'ARRAY'` with `itemType`
 * (nested arrays: `itemType: 'ARRAY'` and each item is `{ itemType, value }`).
 */
export type GgufKv =
  | { key: string; type: Exclude<GgufTypeName, 'ARRAY'>; value: GgufScalar }
  | { key: string; type: 'ARRAY'; itemType: GgufTypeName; value: ReadonlyArray<GgufScalar | GgufArray> };
export interface GgufArray {
  itemType: GgufTypeName;
  value: ReadonlyArray<GgufScalar | GgufArray>;
}

export interface GgufTensor {
  name: string;
  /** ggml type id: 0 F32, 1 F16, 8 Q8_0, 12 Q4_K, 30 BF16 ... */
  type: number;
  /** Dimensions, innermost first (ne0, ne1, ...), as GGUF stores them. */
  shape: number[];
  /** Raw bytes; omitted → zero-filled with the size the type and shape imply. */
  data?: Uint8Array;
}

export interface GgufFile {
  metadata: GgufKv[];
  tensors: GgufTensor[];
  /** Overrides the header version (default 3), for testing readers against bad versions. */
  version?: number;
}

// [block elements, bytes per block] for the types tests commonly write (ggml-common.h).
const BLOCKS: Record<number, [number, number]> = {
  0: [1, 4], // F32
  1: [1, 2], // F16
  2: [32, 18], // Q4_0
  3: [32, 20], // Q4_1
  6: [32, 22], // Q5_0
  7: [32, 24], // Q5_1
  8: [32, 34], // Q8_0
  10: [256, 84], // Q2_K
  11: [256, 110], // Q3_K
  12: [256, 144], // Q4_K
  13: [256, 176], // Q5_K
  14: [256, 210], // Q6_K
  24: [1, 1], // I8
  25: [1, 2], // I16
  26: [1, 4], // I32
  27: [1, 8], // I64
  28: [1, 8], // F64
  30: [1, 2], // BF16
  39: [32, 17], // MXFP4
};

/** Bytes a tensor of this type and shape occupies; throws for types the table lacks (pass `data` then). */
export function tensorBytes(type: number, shape: readonly number[]): number {
  const b = BLOCKS[type];
  if (!b) throw new Error(`gguf-writer: no size for ggml type ${type}; pass tensor data explicitly`);
  const [blk, bytes] = b;
  const ne0 = shape[0] ?? 1;
  if (ne0 % blk !== 0) throw new Error(`gguf-writer: ne0 ${ne0} not a multiple of block ${blk} (type ${type})`);
  const rows = shape.slice(1).reduce((a, d) => a * d, 1);
  return rows * (ne0 / blk) * bytes;
}

/** Growable little-endian byte sink. */
class Sink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;
  private need(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number) { this.need(1); this.buf.writeUInt8(v, this.length); this.length += 1; }
  i8(v: number) { this.need(1); this.buf.writeInt8(v, this.length); this.length += 1; }
  u16(v: number) { this.need(2); this.buf.writeUInt16LE(v, this.length); this.length += 2; }
  i16(v: number) { this.need(2); this.buf.writeInt16LE(v, this.length); this.length += 2; }
  u32(v: number) { this.need(4); this.buf.writeUInt32LE(v, this.length); this.length += 4; }
  i32(v: number) { this.need(4); this.buf.writeInt32LE(v, this.length); this.length += 4; }
  f32(v: number) { this.need(4); this.buf.writeFloatLE(v, this.length); this.length += 4; }
  f64(v: number) { this.need(8); this.buf.writeDoubleLE(v, this.length); this.length += 8; }
  u64(v: number | bigint) { this.need(8); this.buf.writeBigUInt64LE(BigInt(v), this.length); this.length += 8; }
  i64(v: number | bigint) { this.need(8); this.buf.writeBigInt64LE(BigInt(v), this.length); this.length += 8; }
  bytes(b: Uint8Array) { this.need(b.length); this.buf.set(b, this.length); this.length += b.length; }
  str(s: string) { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.bytes(b); }
  pad(align: number) { const n = (align - (this.length % align)) % align; this.need(n); this.length += n; }
  done(): Buffer { return this.buf.subarray(0, this.length); }
}

function num(v: GgufScalar, key: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new Error(`gguf-writer: ${key} expects a number, got ${typeof v}`);
}

function writeValue(s: Sink, type: GgufTypeName, v: GgufScalar | GgufArray, key: string): void {
  if (type === 'ARRAY') {
    if (typeof v !== 'object') throw new Error(`gguf-writer: ${key} nested array item must be {itemType, value}`);
    writeArray(s, v.itemType, v.value, key);
    return;
  }
  if (typeof v === 'object' && typeof v !== 'bigint') throw new Error(`gguf-writer: ${key} expects a scalar`);
  switch (type) {
    case 'UINT8': return s.u8(num(v, key));
    case 'INT8': return s.i8(num(v, key));
    case 'UINT16': return s.u16(num(v, key));
    case 'INT16': return s.i16(num(v, key));
    case 'UINT32': return s.u32(num(v, key));
    case 'INT32': return s.i32(num(v, key));
    case 'FLOAT32': return s.f32(num(v, key));
    case 'FLOAT64': return s.f64(num(v, key));
    case 'UINT64': return s.u64(typeof v === 'bigint' ? v : num(v, key));
    case 'INT64': return s.i64(typeof v === 'bigint' ? v : num(v, key));
    case 'BOOL': return s.u8(v ? 1 : 0);
    case 'STRING':
      if (typeof v !== 'string') throw new Error(`gguf-writer: ${key} expects a string`);
      return s.str(v);
  }
}

function writeArray(s: Sink, itemType: GgufTypeName, items: ReadonlyArray<GgufScalar | GgufArray>, key: string): void {
  s.u32(GgufType[itemType]);
  s.u64(items.length);
  for (const item of items) writeValue(s, itemType, item, key);
}

/** Serialises a GGUF file. Tensor offsets are computed; data is aligned to `general.alignment` (default 32). */
export function writeGguf(file: GgufFile): Buffer {
  const alignKv = file.metadata.find((m) => m.key === 'general.alignment');
  const align = alignKv && alignKv.type !== 'ARRAY' ? num(alignKv.value, alignKv.key) : 32;
  if (!Number.isInteger(align) || align <= 0) throw new Error(`gguf-writer: bad alignment ${align}`);

  const s = new Sink();
  s.bytes(Buffer.from('GGUF', 'ascii'));
  s.u32(file.version ?? 3);
  s.u64(file.tensors.length);
  s.u64(file.metadata.length);
  for (const kv of file.metadata) {
    s.str(kv.key);
    s.u32(GgufType[kv.type]);
    if (kv.type === 'ARRAY') writeArray(s, kv.itemType, kv.value, kv.key);
    else writeValue(s, kv.type, kv.value, kv.key);
  }

  const datas = file.tensors.map((t) => {
    const size = t.data ? t.data.length : tensorBytes(t.type, t.shape);
    return { data: t.data, size };
  });
  let offset = 0;
  const offsets: number[] = [];
  for (const d of datas) {
    offsets.push(offset);
    offset += d.size;
    offset += (align - (offset % align)) % align;
  }
  file.tensors.forEach((t, i) => {
    s.str(t.name);
    s.u32(t.shape.length);
    for (const d of t.shape) s.u64(d);
    s.u32(t.type);
    s.u64(offsets[i]!);
  });

  s.pad(align);
  const dataStart = s.length;
  datas.forEach((d, i) => {
    const at = dataStart + offsets[i]!;
    if (s.length < at) s.bytes(new Uint8Array(at - s.length));
    s.bytes(d.data ?? new Uint8Array(d.size));
  });
  s.pad(align);
  return s.done();
}

/** IEEE 754 binary16 bits for a float (round to nearest even), for writing F16 tensors. */
export function toHalf(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  let mant = u & 0x7fffff;
  if (((u >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  if (exp >= 0x1f) return sign | 0x7c00; // overflow → inf
  if (exp <= 0) {
    if (exp < -10) return sign; // underflow → ±0
    mant |= 0x800000;
    const shift = 14 - exp;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (exp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}
