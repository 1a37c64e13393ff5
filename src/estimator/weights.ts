// Weight bytes: exact from a tensor table, or for a named quant by laying out the model's tensors and
// applying the quant's recipe. Also what one decoded token reads: dense tensors, the active share of
// the routed experts, the whole output head, and a single row of the token-embedding table.
import type { ModelSpec, TensorInfo, WeightsInfo } from './types';
import { ggmlType, tensorBytes, tensorElements } from './ggml-types';
import { isExpertTensor } from './gguf-spec';
import { applyGgufRecipe, parseQuant, type QuantInfo } from './quant-recipes';
import { synthesizeTensors } from './tensor-layout';
import { cpuBuffers, cpuCopyTable, type CpuRepackIsa } from './cpu-buffers';

export class UnknownQuantError extends Error {
  constructor(readonly quant: string) {
    super(`unknown quantization "${quant}"`);
    this.name = 'UnknownQuantError';
  }
}

export interface WeightsDetail extends WeightsInfo {
  /** Bytes of routed-expert tensors (all experts). */
  expertBytes: number;
  /** Bytes of the token-embedding table (only one row of it is read per token, unless tied). */
  tokenEmbdBytes: number;
}

/** Exact weights from tensor types: Σ rows × blocks × bytes-per-block. */
export function weightsFromTensors(spec: ModelSpec, quantLabel: string): WeightsDetail {
  const tensors = spec.tensors;
  if (!tensors || tensors.length === 0) throw new Error(`${spec.id}: no tensor table`);
  return sumTensors(tensors, spec, quantLabel, 'gguf');
}

function sumTensors(tensors: readonly TensorInfo[], spec: ModelSpec, quant: string, source: WeightsInfo['source']): WeightsDetail {
  return { ...sumWeights(tensors, spec, (t) => tensorBytes(t.type, t.shape), quant, source), cpuCopyBytes: cpuCopyTable(tensors) };
}

/** Totals, plus what one decoded token reads: dense tensors, the active experts' share, and the embedding lookup. */
function sumWeights(tensors: readonly TensorInfo[], spec: ModelSpec, bytesOf: (t: TensorInfo) => number, quant: string, source: WeightsInfo['source']): WeightsDetail {
  let total = 0;
  let expert = 0;
  let embd = 0;
  let embdRows = 1;
  const tied = !tensors.some((t) => t.name === 'output.weight');
  for (const t of tensors) {
    const b = bytesOf(t);
    total += b;
    if (isExpertTensor(t.name)) expert += b;
    if (t.name === 'token_embd.weight') {
      embd = b;
      embdRows = t.shape[1] ?? 1;
    }
  }
  const share = spec.moe ? spec.moe.nExpertsUsed / spec.moe.nExperts : 1;
  // Untied: token_embd is a lookup (one row per token). Tied: the same table is the LM head, read whole.
  const embdRead = tied ? embd : embd / Math.max(1, embdRows);
  const active = total - expert + expert * share - embd + embdRead;
  return { quant, totalBytes: Math.round(total), activeBytes: Math.round(active), source, expertBytes: Math.round(expert), tokenEmbdBytes: Math.round(embd) };
}

/**
 * Weights of `spec` in a named quant without a file: GGUF quants apply llama.cpp's recipe to the
 * synthesized tensor table; MLX/GPTQ/AWQ/FP8/INT formats use bits per weight incl. group scales.
 */
/**
 * The same model at another quant, anchored on weights we already know (a file's tensor table or an engine's
 * byte count). When the spec under-describes the model (vision towers, per-layer embeddings an engine's metadata
 * leaves out), the recipe alone would contradict the known size; scaling by recipe(target) / recipe(known quant)
 * keeps every alternative consistent with what is actually loaded.
 */
export function weightsForQuantLike(spec: ModelSpec, quant: string, known: WeightsInfo): WeightsInfo {
  const target = weightsForQuant(spec, quant);
  if (!parseQuant(known.quant) || known.totalBytes <= 0) return target;
  const base = weightsForQuant(spec, known.quant);
  if (base.totalBytes <= 0 || Math.abs(known.totalBytes / base.totalBytes - 1) < 0.02) return target;
  const k = known.totalBytes / base.totalBytes;
  return { quant: target.quant, totalBytes: Math.round(target.totalBytes * k), activeBytes: Math.round(target.activeBytes * k), source: 'estimated' };
}

export function weightsForQuant(spec: ModelSpec, quant: string): WeightsDetail {
  const q = parseQuant(quant);
  if (!q) throw new UnknownQuantError(quant);
  const source = spec.tensors && spec.tensors.length > 0 ? spec.tensors : synthesizeTensors(spec);
  const unquantized = source.map((t) => (t.shape.length >= 2 && t.type !== 0 ? { ...t, type: 1 } : t));
  if (q.format === 'gguf') {
    const nKv = spec.nKvHeadsPerLayer.find((h) => h > 0) ?? spec.nHeads;
    const mixed = applyGgufRecipe(unquantized, q, {
      arch: spec.arch,
      nLayers: spec.nLayers,
      nHeads: spec.nHeads,
      nKvHeads: nKv,
      nExperts: spec.moe?.nExperts ?? 0,
    });
    return sumTensors(mixed, spec, q.name, 'estimated');
  }
  return bitsPerWeightBytes(unquantized, spec, q);
}

/** Non-GGUF formats: quantized linear layers at `linearBits`, norms/router 16-bit, embeddings per format. */
function bitsPerWeightBytes(tensors: readonly TensorInfo[], spec: ModelSpec, q: QuantInfo): WeightsDetail {
  const bits = q.linearBits ?? q.bitsPerWeight;
  return sumWeights(
    tensors,
    spec,
    (t) => {
      const isEmb = t.name === 'token_embd.weight' || t.name === 'output.weight';
      const linear = t.shape.length >= 2 && !t.name.includes('ffn_gate_inp');
      return ((linear && (!isEmb || q.quantizesEmbeddings) ? bits : 16) * tensorElements(t.shape)) / 8;
    },
    q.name,
    'estimated',
  );
}

/** Label for a GGUF file's dominant quant (`general.file_type` when present, else the commonest 2-D type). */
export function quantLabelFromTensors(tensors: readonly TensorInfo[], fileType?: number): string {
  const byFileType: Record<number, string> = {
    0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 7: 'Q8_0', 8: 'Q5_0', 9: 'Q5_1', 10: 'Q2_K', 11: 'Q3_K_S', 12: 'Q3_K_M',
    13: 'Q3_K_L', 14: 'Q4_K_S', 15: 'Q4_K_M', 16: 'Q5_K_S', 17: 'Q5_K_M', 18: 'Q6_K', 19: 'IQ2_XXS', 20: 'IQ2_XS',
    21: 'Q2_K_S', 22: 'IQ3_XS', 23: 'IQ3_XXS', 24: 'IQ1_S', 25: 'IQ4_NL', 26: 'IQ3_S', 27: 'IQ3_M', 28: 'IQ2_S',
    29: 'IQ2_M', 30: 'IQ4_XS', 31: 'IQ1_M', 32: 'BF16', 36: 'TQ1_0', 37: 'TQ2_0', 38: 'MXFP4',
  };
  if (fileType !== undefined && byFileType[fileType]) return byFileType[fileType]!;
  const bytesByType = new Map<number, number>();
  for (const t of tensors) if (t.shape.length >= 2) bytesByType.set(t.type, (bytesByType.get(t.type) ?? 0) + tensorBytes(t.type, t.shape));
  let best = -1;
  let bestBytes = -1;
  for (const [ty, b] of bytesByType) if (b > bestBytes) [best, bestBytes] = [ty, b];
  return ggmlType(best)?.name ?? 'unknown';
}

/** Bytes llama.cpp's CPU backend copies into its `CPU_REPACK` buffer for this ISA (no AMX); see cpu-buffers.ts. */
export function cpuRepackBytes(tensors: readonly TensorInfo[], isa: CpuRepackIsa = 'x86-avx2'): number {
  return cpuBuffers(tensors, { isa, amx: false }).repackBytes;
}
