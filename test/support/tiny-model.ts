// A tiny but real `llama`-architecture GGUF that llama-server loads and serves: a few layers, GQA,
// F16 matrices with seeded random weights, a SentencePiece (`llama`) vocabulary with byte fallback and a
// ChatML chat template. The text it generates is gibberish; the server, slots, metrics and timings are real.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { toHalf, writeGguf, type GgufFile, type GgufKv, type GgufTensor } from './gguf-writer';

export interface TinyModelSpec {
  nLayers: number;
  hidden: number;
  nHeads: number;
  nKvHeads: number;
  ffn: number;
  contextTrain: number;
  /** Vocabulary size (≥ 3 specials + 256 byte tokens + 2 chat markers). */
  vocab: number;
  seed: number;
  /**
   * Type of the layer matrices: F16, Q8_0, Q4_0, or `mixed` (attention + output Q8_0, FFN Q4_0) — quantized
   * models exercise the CPU kernels (and the repack buffers) a broken llama-server build would crash in.
   */
  weights?: 'F16' | 'Q8_0' | 'Q4_0' | 'mixed';
}

export const TINY_DEFAULTS: TinyModelSpec = {
  nLayers: 2,
  hidden: 128,
  nHeads: 4,
  nKvHeads: 2,
  ffn: 384,
  contextTrain: 32768,
  vocab: 512,
  seed: 42,
};

const GGML_F32 = 0;
const GGML_F16 = 1;
const GGML_Q4_0 = 2;
const GGML_Q8_0 = 8;
// llama_ftype of the whole file, as llama-quantize would write it.
const FILE_TYPE = { F16: 1, Q4_0: 2, Q8_0: 7, mixed: 2 } as const;
// llama_token_type: 1 normal, 2 unknown, 3 control, 6 byte.
const NORMAL = 1, UNKNOWN = 2, CONTROL = 3, BYTE = 6;

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Deterministic PRNG (mulberry32) so the same spec always yields the same bytes. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function vocabulary(size: number): { tokens: string[]; types: number[]; scores: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [UNKNOWN, CONTROL, CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(BYTE);
  }
  tokens.push('<|im_start|>', '<|im_end|>');
  types.push(CONTROL, CONTROL);
  // Pieces SPM can merge into: "▁", printable ASCII, then "▁x" / "▁xy" word starts until the size is reached.
  const pieces: string[] = ['▁'];
  for (let c = 33; c < 127; c++) pieces.push(String.fromCharCode(c));
  const letters = 'etaoinshrdlcumwfgypbvkjxqz';
  for (const a of letters) pieces.push(`▁${a}`);
  outer: for (const a of letters) for (const b of letters) {
    if (tokens.length + pieces.length >= size) break outer;
    pieces.push(`▁${a}${b}`);
  }
  for (const p of pieces) {
    if (tokens.length >= size) break;
    tokens.push(p);
    types.push(NORMAL);
  }
  if (tokens.length < size) throw new Error(`tiny-model: vocab ${size} too large for the generated pieces`);
  // Longer pieces score higher so SPM prefers them over single characters.
  const scores = tokens.map((t, i) => (types[i] === NORMAL ? -1000 + 10 * [...t].length - i / size : 0));
  return { tokens, types, scores };
}

function f16Tensor(name: string, shape: number[], rand: () => number, scale: number): GgufTensor {
  const n = shape.reduce((a, d) => a * d, 1);
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) data.writeUInt16LE(toHalf((rand() * 2 - 1) * scale), i * 2);
  return { name, type: GGML_F16, shape, data };
}

/** ggml quantize_row_q8_0_ref: per 32 values, d = max|x| / 127 (f16), then round(x / d) as int8. */
function q8Tensor(name: string, shape: number[], rand: () => number, scale: number): GgufTensor {
  const n = shape.reduce((a, d) => a * d, 1);
  const data = Buffer.alloc((n / 32) * 34);
  const x = new Float32Array(32);
  for (let b = 0; b < n / 32; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs((x[i] = (rand() * 2 - 1) * scale)));
    const d = amax / 127;
    data.writeUInt16LE(toHalf(d), b * 34);
    for (let i = 0; i < 32; i++) data.writeInt8(d ? Math.round(x[i]! / d) : 0, b * 34 + 2 + i);
  }
  return { name, type: GGML_Q8_0, shape, data };
}

/** ggml quantize_row_q4_0_ref: d = (value of largest magnitude) / −8; nibbles j and j+16 share byte j. */
function q4Tensor(name: string, shape: number[], rand: () => number, scale: number): GgufTensor {
  const n = shape.reduce((a, d) => a * d, 1);
  const data = Buffer.alloc((n / 32) * 18);
  const x = new Float32Array(32);
  for (let b = 0; b < n / 32; b++) {
    let max = 0;
    for (let i = 0; i < 32; i++) {
      x[i] = (rand() * 2 - 1) * scale;
      if (Math.abs(x[i]!) > Math.abs(max)) max = x[i]!;
    }
    const d = max / -8;
    const id = d ? 1 / d : 0;
    data.writeUInt16LE(toHalf(d), b * 18);
    const q = (v: number) => Math.min(15, Math.trunc(v * id + 8.5));
    for (let j = 0; j < 16; j++) data.writeUInt8(q(x[j]!) | (q(x[j + 16]!) << 4), b * 18 + 2 + j);
  }
  return { name, type: GGML_Q4_0, shape, data };
}

function onesF32(name: string, n: number): GgufTensor {
  const data = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) data.writeFloatLE(1, i * 4);
  return { name, type: GGML_F32, shape: [n], data };
}

/** The parts of a tiny llama GGUF (metadata + tensors with data), for tests that tweak them before writing. */
export function tinyModelFile(overrides: Partial<TinyModelSpec> = {}): GgufFile {
  const s = { ...TINY_DEFAULTS, ...overrides };
  if (s.hidden % s.nHeads !== 0 || s.nHeads % s.nKvHeads !== 0) throw new Error('tiny-model: heads must divide hidden and KV heads must divide heads');
  const headDim = s.hidden / s.nHeads;
  const kvDim = headDim * s.nKvHeads;
  const rand = rng(s.seed);
  const { tokens, types, scores } = vocabulary(s.vocab);

  const metadata: GgufKv[] = [
    { key: 'general.architecture', type: 'STRING', value: 'llama' },
    { key: 'general.name', type: 'STRING', value: 'headroom-tiny-llama' },
    { key: 'general.file_type', type: 'UINT32', value: FILE_TYPE[s.weights ?? 'F16'] },
    { key: 'llama.context_length', type: 'UINT32', value: s.contextTrain },
    { key: 'llama.embedding_length', type: 'UINT32', value: s.hidden },
    { key: 'llama.block_count', type: 'UINT32', value: s.nLayers },
    { key: 'llama.feed_forward_length', type: 'UINT32', value: s.ffn },
    { key: 'llama.attention.head_count', type: 'UINT32', value: s.nHeads },
    { key: 'llama.attention.head_count_kv', type: 'UINT32', value: s.nKvHeads },
    { key: 'llama.attention.layer_norm_rms_epsilon', type: 'FLOAT32', value: 1e-5 },
    { key: 'llama.rope.freq_base', type: 'FLOAT32', value: 10000 },
    { key: 'llama.rope.dimension_count', type: 'UINT32', value: headDim },
    { key: 'llama.vocab_size', type: 'UINT32', value: s.vocab },
    { key: 'tokenizer.ggml.model', type: 'STRING', value: 'llama' },
    { key: 'tokenizer.ggml.tokens', type: 'ARRAY', itemType: 'STRING', value: tokens },
    { key: 'tokenizer.ggml.scores', type: 'ARRAY', itemType: 'FLOAT32', value: scores },
    { key: 'tokenizer.ggml.token_type', type: 'ARRAY', itemType: 'INT32', value: types },
    { key: 'tokenizer.ggml.unknown_token_id', type: 'UINT32', value: 0 },
    { key: 'tokenizer.ggml.bos_token_id', type: 'UINT32', value: 1 },
    { key: 'tokenizer.ggml.eos_token_id', type: 'UINT32', value: 2 },
    { key: 'tokenizer.ggml.add_bos_token', type: 'BOOL', value: true },
    { key: 'tokenizer.ggml.add_eos_token', type: 'BOOL', value: false },
    { key: 'tokenizer.chat_template', type: 'STRING', value: CHATML_TEMPLATE },
  ];

  // Small weights keep activations finite through the layers (random, so logits are noise anyway).
  const w = 1 / Math.sqrt(s.hidden);
  const kind = s.weights ?? 'F16';
  const pick = (k: 'F16' | 'Q8_0' | 'Q4_0') => (k === 'Q8_0' ? q8Tensor : k === 'Q4_0' ? q4Tensor : f16Tensor);
  const attn = pick(kind === 'mixed' ? 'Q8_0' : kind);
  const ffn = pick(kind === 'mixed' ? 'Q4_0' : kind);
  const tensors: GgufTensor[] = [f16Tensor('token_embd.weight', [s.hidden, s.vocab], rand, 0.5)];
  for (let i = 0; i < s.nLayers; i++) {
    const b = `blk.${i}`;
    tensors.push(
      onesF32(`${b}.attn_norm.weight`, s.hidden),
      attn(`${b}.attn_q.weight`, [s.hidden, s.hidden], rand, w),
      attn(`${b}.attn_k.weight`, [s.hidden, kvDim], rand, w),
      attn(`${b}.attn_v.weight`, [s.hidden, kvDim], rand, w),
      attn(`${b}.attn_output.weight`, [s.hidden, s.hidden], rand, w),
      onesF32(`${b}.ffn_norm.weight`, s.hidden),
      ffn(`${b}.ffn_gate.weight`, [s.hidden, s.ffn], rand, w),
      ffn(`${b}.ffn_up.weight`, [s.hidden, s.ffn], rand, w),
      ffn(`${b}.ffn_down.weight`, [s.ffn, s.hidden], rand, 1 / Math.sqrt(s.ffn)),
    );
  }
  tensors.push(onesF32('output_norm.weight', s.hidden), attn('output.weight', [s.hidden, s.vocab], rand, w));
  return { metadata, tensors };
}

/** The GGUF bytes of a tiny llama model. */
export function buildTinyModel(overrides: Partial<TinyModelSpec> = {}): Buffer {
  return writeGguf(tinyModelFile(overrides));
}

/**
 * Path of a tiny model GGUF on disk, written once per spec into the git-ignored `.cache/tiny-models/`
 * (atomic rename, so concurrent test files never see a half-written file).
 */
export function tinyModelPath(overrides: Partial<TinyModelSpec> = {}): string {
  const s = { ...TINY_DEFAULTS, ...overrides };
  const key = createHash('sha256').update(JSON.stringify(s)).digest('hex').slice(0, 12);
  const dir = resolve(__dirname, '..', '..', '.cache', 'tiny-models');
  const file = join(dir, `tiny-llama-${s.nLayers}L-${s.hidden}h-${s.weights ? `${s.weights}-` : ''}${key}.gguf`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, buildTinyModel(s));
  renameSync(tmp, file);
  return file;
}
