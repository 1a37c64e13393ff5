// GGUF header parser over bytes already in memory (pure; src/gguf/read.ts feeds it from disk).
// Reads metadata and the tensor table only, never tensor data, so a header-only file parses the same
// as the whole file. Every length and count is checked against the bytes that can exist before it
// is used: a hostile file gets a typed GgufError, never a giant allocation or a hang.
import type { TensorInfo } from '../estimator/types';

export type GgufErrorCode = 'not-gguf' | 'big-endian' | 'unsupported-version' | 'truncated' | 'corrupt' | 'too-large' | 'io';

export class GgufError extends Error {
  constructor(
    readonly code: GgufErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'GgufError';
  }
}

/** Thrown internally when the bytes end before the header does but more can be read. */
export class NeedMoreBytes extends Error {
  constructor(readonly atLeast: number) {
    super(`need at least ${atLeast} bytes`);
    this.name = 'NeedMoreBytes';
  }
}

/** An array too long to keep (e.g. 262k tokenizer tokens): its element type and length only. */
export interface GgufArraySummary {
  readonly kind: 'gguf-array';
  readonly itemType: GgufValueType;
  readonly length: number;
}

export function isArraySummary(v: unknown): v is GgufArraySummary {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'gguf-array';
}

export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

export interface GgufTensorEntry extends TensorInfo {
  /** Offset of the tensor's data relative to the start of the data section. */
  offset: number;
}

export interface GgufHeader {
  version: number;
  metadata: Record<string, unknown>;
  tensors: GgufTensorEntry[];
  /** Absolute file offset where tensor data begins (after alignment padding). */
  tensorDataOffset: number;
}

export interface ParseOptions {
  /** Bytes the whole header may span (the file size, or a cap); beyond this the header is truncated/too large. */
  available?: number;
  /** Arrays longer than this are summarised, not materialised. Default 1024. */
  maxArrayItems?: number;
}

const MAGIC = 0x46554747; // "GGUF" read little-endian
const MAX_PLAUSIBLE_HEADER = 1024 * 1024 * 1024; // real headers are a few MiB; DeepSeek-size tables stay far below
const MAX_PLAUSIBLE_STRING = 64 * 1024 * 1024; // longest real metadata strings (chat templates, merges) are far below
const MAX_DIMS = 8; // GGML_MAX_DIMS is 4; allow a little slack, refuse nonsense
const SCALAR_SIZE: Partial<Record<GgufValueType, number>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

/** Parse a GGUF header. Throws NeedMoreBytes when `bytes` ends early but `available` says more exists. */
export function parseGgufHeader(bytes: Uint8Array, opts: ParseOptions = {}): GgufHeader {
  return new Cursor(bytes, opts.available ?? bytes.length, opts.maxArrayItems ?? 1024).header();
}

class Cursor {
  private pos = 0;
  private readonly view: DataView;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(
    private readonly bytes: Uint8Array,
    private readonly available: number,
    private readonly maxArrayItems: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  header(): GgufHeader {
    this.need(8);
    if (this.view.getUint32(0, true) !== MAGIC) {
      throw new GgufError('not-gguf', 'not a GGUF file (bad magic)');
    }
    const version = this.view.getUint32(4, true);
    this.pos = 8;
    // A big-endian GGUF has the same magic bytes but its version reads byte-swapped (3 → 0x03000000).
    if (version >= 0x10000 && (version & 0xffff) === 0) {
      throw new GgufError('big-endian', 'big-endian GGUF files are not supported (convert it on a little-endian machine)');
    }
    if (version < 2 || version > 3) {
      throw new GgufError('unsupported-version', `unsupported GGUF version ${version} (expected 2 or 3)`);
    }
    const nTensors = this.count('tensor', 8 + 4 + 8 + 4 + 8 + 1);
    const nKv = this.count('metadata', 8 + 4 + 1);

    const metadata: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (let i = 0; i < nKv; i++) {
      const key = this.string();
      const type = this.u32();
      metadata[key] = this.value(type, key);
    }
    const tensors: GgufTensorEntry[] = [];
    for (let i = 0; i < nTensors; i++) {
      const name = this.string();
      const nDims = this.u32();
      if (nDims === 0 || nDims > MAX_DIMS) throw new GgufError('corrupt', `tensor ${name}: ${nDims} dimensions`);
      const shape: number[] = [];
      for (let d = 0; d < nDims; d++) shape.push(this.u64Safe(`tensor ${name} dimension`));
      const type = this.u32();
      const offset = this.u64Safe(`tensor ${name} offset`);
      tensors.push({ name, type, shape, offset });
    }
    const alignRaw = metadata['general.alignment'];
    const alignment = typeof alignRaw === 'number' && alignRaw > 0 ? alignRaw : 32;
    const tensorDataOffset = Math.ceil(this.pos / alignment) * alignment;
    return { version, metadata: { ...metadata }, tensors, tensorDataOffset };
  }

  /** Make sure n more bytes can be read. */
  private need(n: number): void {
    const end = this.pos + n;
    if (end <= this.bytes.length) return;
    if (end <= this.available) throw new NeedMoreBytes(end);
    throw new GgufError('truncated', `GGUF header is truncated at byte ${this.pos} (needs ${n} more, file has ${this.available})`);
  }

  /** A u64 count, refused when even minimal entries could not fit in the bytes that exist. */
  private count(what: string, minEntryBytes: number): number {
    const n = this.u64Safe(`${what} count`);
    this.checkFits(n * minEntryBytes, `${what} count ${n}`);
    return n;
  }

  private u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  private u64Safe(what: string): number {
    this.need(8);
    // Two u32 halves instead of a BigInt: this runs once per tokenizer string (hundreds of thousands).
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    if (hi > 0x1fffff) throw new GgufError('corrupt', `absurd ${what}: ${(BigInt(hi) << 32n) | BigInt(lo)}`);
    return hi * 0x100000000 + lo;
  }

  private string(): string {
    const len = this.u64Safe('string length');
    this.checkStringLength(len);
    this.need(len);
    const s = this.decoder.decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }

  private value(type: number, key: string): unknown {
    if (type === GgufValueType.STRING) return this.string();
    if (type === GgufValueType.ARRAY) return this.array(key);
    return this.scalar(type, key);
  }

  private scalar(type: number, key: string): number | boolean | bigint {
    const size = SCALAR_SIZE[type as GgufValueType];
    if (size === undefined) throw new GgufError('corrupt', `metadata ${key}: unknown value type ${type}`);
    this.need(size);
    const v = this.view;
    const p = this.pos;
    this.pos += size;
    switch (type as GgufValueType) {
      case GgufValueType.UINT8: return v.getUint8(p);
      case GgufValueType.INT8: return v.getInt8(p);
      case GgufValueType.BOOL: return v.getUint8(p) !== 0;
      case GgufValueType.UINT16: return v.getUint16(p, true);
      case GgufValueType.INT16: return v.getInt16(p, true);
      case GgufValueType.UINT32: return v.getUint32(p, true);
      case GgufValueType.INT32: return v.getInt32(p, true);
      case GgufValueType.FLOAT32: return v.getFloat32(p, true);
      case GgufValueType.FLOAT64: return v.getFloat64(p, true);
      case GgufValueType.UINT64: return safeNumber(v.getBigUint64(p, true));
      case GgufValueType.INT64: return safeNumber(v.getBigInt64(p, true));
      default: throw new GgufError('corrupt', `metadata ${key}: unknown value type ${type}`);
    }
  }

  private array(key: string): unknown[] | GgufArraySummary {
    const itemType = this.u32();
    if (itemType === GgufValueType.ARRAY) throw new GgufError('corrupt', `metadata ${key}: nested arrays are not supported`);
    const size = SCALAR_SIZE[itemType as GgufValueType];
    if (size === undefined && itemType !== GgufValueType.STRING) {
      throw new GgufError('corrupt', `metadata ${key}: unknown array item type ${itemType}`);
    }
    const minItem = size ?? 8; // a string is at least its u64 length
    const n = this.u64Safe(`metadata ${key} array length`);
    this.checkFits(n * minItem, `metadata ${key}: array length ${n}`);
    const keep = n <= this.maxArrayItems;
    if (!keep && size !== undefined) {
      // Fixed-size items: skip without decoding.
      this.need(n * size);
      this.pos += n * size;
      return { kind: 'gguf-array', itemType, length: n };
    }
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) {
      if (itemType === GgufValueType.STRING) {
        if (keep) out.push(this.string());
        else this.skipString();
      } else out.push(this.scalar(itemType, key));
    }
    return keep ? out : { kind: 'gguf-array', itemType, length: n };
  }

  private skipString(): void {
    const len = this.u64Safe('string length');
    this.checkStringLength(len);
    this.need(len);
    this.pos += len;
  }

  /** `bytes` more must exist: if not, a plausible size means the file was cut short, an implausible one that it is corrupt. */
  private checkFits(bytes: number, what: string): void {
    if (bytes <= this.available - this.pos) return;
    if (bytes <= MAX_PLAUSIBLE_HEADER) {
      throw new GgufError('truncated', `GGUF header is truncated: ${what} needs ${bytes} bytes after byte ${this.pos}, only ${this.available - this.pos} exist`);
    }
    throw new GgufError('corrupt', `absurd ${what} (would need ${bytes} bytes) at byte ${this.pos}`);
  }

  /** A plausible length cut off by the end of the bytes is truncation; an implausible one is corruption. */
  private checkStringLength(len: number): void {
    if (len <= this.available - this.pos) return;
    const plausible = len <= MAX_PLAUSIBLE_STRING;
    throw new GgufError(
      plausible ? 'truncated' : 'corrupt',
      plausible
        ? `GGUF header is truncated inside a ${len}-byte string at byte ${this.pos}`
        : `absurd string length ${len} at byte ${this.pos - 8}`,
    );
  }
}

function safeNumber(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
}
