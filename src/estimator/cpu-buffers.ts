// Where llama.cpp's CPU backend puts each weight tensor, and what that costs in memory.
//
// On the CPU backend llama.cpp offers every weight to its "extra" buffer types before the plain CPU one
// (llama-model.cpp make_cpu_buft_list; ggml-cpu.cpp ggml_backend_cpu_get_extra_buffer_types): first AMX
// (only in a build compiled with AMX-INT8 + AVX512-VNNI, i.e. GGML_NATIVE on such a CPU, and only when the
// kernel grants the AMX tile state), then CPU_REPACK. A tensor taken by one of them is *copied* (re-laid out)
// into that buffer while the mmap'ed file stays mapped, so the process holds both: the repack copy is extra
// memory on top of the file's tensor data. GPU backends never do this.
//
// Rules ported from llama.cpp v0.5.0 (the source node-llama-cpp 3.22.1 bundles):
// - AMX (ggml-cpu/amx/amx.cpp supports_op, common.h qtype_has_amx_kernels, mmq.cpp get_row_size): plain
//   MUL_MAT weights (2-D; not MoE expert stacks, which use MUL_MAT_ID) with rows % 32 == 0 and a row length
//   divisible by 32 (Q4_0/Q4_1/Q8_0), 256 (Q4_K/Q5_K/Q6_K/IQ4_XS) or 16 (F16, stored unpacked). Packed rows
//   carry extra per-block terms: Q8_0 +4 B, Q4_K/Q5_K +4 B, IQ4_XS +2 B per block.
// - CPU_REPACK (ggml-cpu/repack.cpp ggml_repack_get_optimal_repack_type): MUL_MAT and MUL_MAT_ID weights whose
//   type has an interleaved kernel for this ISA and whose row count is a multiple of 8 (x86) / 4 or 8 (ARM);
//   the copy has the tensor's own size.
// Embedding tables are only gathered (GET_ROWS), never multiplied, so neither takes them.
import { ggmlType, tensorBytes } from './ggml-types';
import type { TensorInfo } from './types';

/** CPU feature level that decides which tensor types the CPU_REPACK buffer takes. */
export type CpuRepackIsa = 'x86-avx2' | 'x86-avx512' | 'arm-i8mm' | 'arm-dotprod' | 'none';

/** What the running llama.cpp CPU backend can do: its repack ISA and whether its AMX buffer is active. */
export interface CpuBufferFeatures {
  isa: CpuRepackIsa;
  /** AMX buffer in use: an AMX-INT8 CPU, a native build, and a kernel that grants the tile state. */
  amx: boolean;
  /**
   * Weights are mmap'ed (llama.cpp's default). With `-lm none` (no mmap) the copies *replace* the plain CPU
   * buffer instead of sitting beside the mapped file, so they cost nothing extra.
   */
  mmap?: boolean;
}

/** What llama.cpp picks when nothing is known about the CPU: the common x86-64 case (AVX2, no AMX). */
export const DEFAULT_CPU_FEATURES: CpuBufferFeatures = { isa: 'x86-avx2', amx: false };

// repack.cpp, per type: [x86 AVX2, x86 AVX-512 extra, ARM i8mm/dotprod]; row multiple 8 on x86.
const REPACK_TYPES: Record<CpuRepackIsa, readonly string[]> = {
  'x86-avx2': ['Q4_0', 'Q4_K', 'IQ4_NL', 'MXFP4'],
  'x86-avx512': ['Q4_0', 'Q4_K', 'IQ4_NL', 'MXFP4', 'Q2_K'],
  'arm-i8mm': ['Q4_0', 'Q4_K', 'Q5_K', 'Q6_K', 'IQ4_NL', 'MXFP4', 'Q8_0', 'Q1_0'],
  'arm-dotprod': ['Q4_0', 'Q4_K', 'Q5_K', 'Q6_K', 'IQ4_NL', 'MXFP4', 'Q8_0', 'Q1_0'],
  none: [],
};
// ARM kernels interleave 4 rows for Q4_0/IQ4_NL/MXFP4/Q8_0/Q1_0 and 8 for the K-quants.
const ARM_ROWS_8 = new Set(['Q4_K', 'Q5_K', 'Q6_K']);

/** AMX: row-length alignment and extra bytes per block of each type it packs (F16 is stored as is). */
const AMX_TYPES: Record<string, { align: number; extraPerBlock: number }> = {
  Q4_0: { align: 32, extraPerBlock: 0 },
  Q4_1: { align: 32, extraPerBlock: 0 },
  Q8_0: { align: 32, extraPerBlock: 4 },
  Q4_K: { align: 256, extraPerBlock: 4 },
  Q5_K: { align: 256, extraPerBlock: 4 },
  Q6_K: { align: 256, extraPerBlock: 0 },
  IQ4_XS: { align: 256, extraPerBlock: 2 },
  F16: { align: 16, extraPerBlock: 0 },
};

export type CpuBufferType = 'CPU' | 'CPU_REPACK' | 'AMX';

/** The op llama.cpp builds to test a weight: gathered, multiplied (MUL_MAT), or multiplied per expert. */
function weightOp(t: TensorInfo): 'get_rows' | 'mul_mat' | 'mul_mat_id' | 'other' {
  if (t.name === 'token_embd.weight' || t.name === 'per_layer_token_embd.weight' || t.name.endsWith('.position_embd.weight')) return 'get_rows';
  const dims = t.shape.filter((d, i) => i < 2 || d > 1).length;
  if (dims === 3 && /_exps\.weight$/.test(t.name)) return 'mul_mat_id';
  if (t.shape.length >= 2 && dims === 2 && (t.shape[1] ?? 0) > 1) return 'mul_mat';
  return 'other';
}

function amxBytes(t: TensorInfo): number | undefined {
  const type = ggmlType(t.type);
  const rule = type && AMX_TYPES[type.name];
  if (!type || !rule) return undefined;
  const [k = 0, n = 0] = t.shape;
  if (n % 32 !== 0 || k % rule.align !== 0) return undefined;
  if (type.name === 'F16') return tensorBytes(t.type, t.shape);
  const blocks = k / type.blockSize;
  return n * blocks * (type.bytesPerBlock + rule.extraPerBlock);
}

function repacks(t: TensorInfo, isa: CpuRepackIsa): boolean {
  const name = ggmlType(t.type)?.name;
  if (!name || !REPACK_TYPES[isa].includes(name)) return false;
  const rows = isa.startsWith('x86') || ARM_ROWS_8.has(name) ? 8 : 4;
  return (t.shape[1] ?? 0) % rows === 0;
}

/** Which buffer type llama.cpp's CPU backend gives one weight tensor, and the bytes it takes there. */
export function cpuBufferOf(t: TensorInfo, f: CpuBufferFeatures): { buffer: CpuBufferType; bytes: number } {
  const op = weightOp(t);
  if (f.amx && op === 'mul_mat') {
    const b = amxBytes(t);
    if (b !== undefined) return { buffer: 'AMX', bytes: b };
  }
  if ((op === 'mul_mat' || op === 'mul_mat_id') && repacks(t, f.isa)) return { buffer: 'CPU_REPACK', bytes: tensorBytes(t.type, t.shape) };
  return { buffer: 'CPU', bytes: tensorBytes(t.type, t.shape) };
}

export interface CpuBuffers {
  /** Bytes copied into the CPU_REPACK buffer. */
  repackBytes: number;
  /** Bytes of the AMX buffer. */
  amxBytes: number;
  /**
   * llama.cpp's `CPU_Mapped` buffer: the file range from the first to the last byte of the tensors that stayed
   * on the plain CPU buffer (llama_model_loader::get_mapping_range). Copied tensors inside that range still
   * count. Undefined when the tensor table has no offsets.
   */
  mappedBytes?: number;
  /** Σ tensor bytes (the file's weights, no alignment padding). */
  tensorBytes: number;
}

/** The CPU backend's buffers for a tensor table (weights in file order, offsets from the GGUF header). */
export function cpuBuffers(tensors: readonly TensorInfo[], f: CpuBufferFeatures): CpuBuffers {
  let repackBytes = 0;
  let amx = 0;
  let first = Infinity;
  let last = -Infinity;
  let offsets = tensors.length > 0;
  let total = 0;
  for (const t of tensors) {
    const { buffer, bytes: own } = cpuBufferOf(t, f);
    const bytes = buffer === 'AMX' ? tensorBytes(t.type, t.shape) : own;
    total += bytes;
    if (buffer === 'CPU_REPACK') repackBytes += bytes;
    else if (buffer === 'AMX') amx += own;
    else if (t.offset === undefined) offsets = false;
    else {
      first = Math.min(first, t.offset);
      last = Math.max(last, t.offset + bytes);
    }
  }
  const out: CpuBuffers = { repackBytes, amxBytes: amx, tensorBytes: total };
  if (offsets) out.mappedBytes = last >= first ? last - first : 0;
  return out;
}

/**
 * Extra process memory on the CPU backend over the file's tensor data: the CPU_REPACK and AMX copies, less the
 * file ranges outside CPU_Mapped (llama.cpp unmaps those after loading: llama_mmap::unmap_fragment).
 */
export function cpuCopyBytes(tensors: readonly TensorInfo[], f: CpuBufferFeatures): number {
  const b = cpuBuffers(tensors, f);
  const released = b.mappedBytes === undefined ? 0 : Math.max(0, b.tensorBytes - b.mappedBytes);
  return Math.max(0, b.repackBytes + b.amxBytes - released);
}

/** `x86-avx512`, `x86-avx512+amx`: the key of `WeightsInfo.cpuCopyBytes`. */
export function cpuFeaturesKey(f: CpuBufferFeatures): string {
  return f.amx ? `${f.isa}+amx` : f.isa;
}

/** The copy bytes for every feature combination, so a weights summary can answer for any CPU without its tensors. */
export function cpuCopyTable(tensors: readonly TensorInfo[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const isa of Object.keys(REPACK_TYPES) as CpuRepackIsa[]) {
    for (const amx of [false, true]) {
      const f = { isa, amx };
      out[cpuFeaturesKey(f)] = cpuCopyBytes(tensors, f);
    }
  }
  return out;
}

/** The repack ISA and AMX state from Linux /proc/cpuinfo flags (x86) or Features (ARM). */
export function cpuFeaturesFromFlags(flags: readonly string[], opts: { amxUsable?: boolean } = {}): CpuBufferFeatures {
  const has = (f: string) => flags.includes(f);
  let isa: CpuRepackIsa = 'none';
  if (has('avx512f')) isa = 'x86-avx512';
  else if (has('avx2')) isa = 'x86-avx2';
  else if (has('i8mm')) isa = 'arm-i8mm';
  else if (has('asimddp')) isa = 'arm-dotprod';
  const amxCpu = has('amx_int8') && has('amx_tile') && has('avx512_vnni');
  return { isa, amx: amxCpu && (opts.amxUsable ?? false) };
}
