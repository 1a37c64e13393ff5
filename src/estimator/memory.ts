// Memory a llama.cpp context needs: weights + KV cache + compute (scratch) buffer + output buffer
// (+ recurrent state). Formulas checked against real llama-server loads in test/fixtures/groundtruth.
//
// Compute buffer. ggml allocates one buffer sized to the peak of the worst-case prompt graph
// (n_ubatch tokens). Graph inputs (the KQ masks) live throughout; everything else is reused,
// so the peak is the larger of the FFN phase and the attention phase:
// - masks: one per KV cache (full, SWA) of cells_per_stream × n_ubatch, f16 with flash attention, f32 without;
// - FFN peak per token (f32): dense 3·n_ff + 4·n_embd; MoE 2·n_used·(n_embd + n_ff_exp)
//   (the expert outputs and their weighted copy are live at once). Checked on Llama/Gemma-3 (dense),
//   Qwen3-MoE (exact), gpt-oss (−2.5 %) and DeepSeek-V2-Lite (dense lead layer dominates, +1 %);
// - attention peak without flash attention: the f32 KQ matrix n_kv × n_ubatch × n_head plus Q/KQV
//   (≈ n_embd + 4·q_dim per token); with flash attention it stays below the FFN peak for GQA models,
//   not for MLA (see below).
import type { ContextOptions, MemoryBreakdown, ModelSpec, WeightsInfo } from './types';
import { kvBytesPerToken, kvLayout } from './kv';
import { cpuFeaturesKey } from './cpu-buffers';

export function defaultContextOptions(over: Partial<ContextOptions> = {}): ContextOptions {
  return {
    ctxPerSeq: 4096,
    parallel: 1,
    kvTypeK: 'f16',
    kvTypeV: 'f16',
    flashAttention: true,
    nUbatch: 512,
    kvUnified: false,
    swaFull: false,
    ...over,
  };
}

export interface ComputeInputs {
  /** Cells per stream of the full-attention cache. */
  cellsPerStream: number;
  /** Cells per stream of the SWA cache, when the model has one. */
  swaCellsPerStream?: number;
}

/** Intermediate sizes the FFN peak depends on, from the spec or its tensor table. */
function ffnDims(spec: ModelSpec): { dense: number; expert: number; shared: number } {
  let dense = spec.ffnSize ?? 0;
  let expert = spec.moe?.expertFfnSize ?? 0;
  let shared = spec.moe?.sharedExpertFfnSize ?? 0;
  for (const t of spec.tensors ?? []) {
    if (t.name.endsWith('.ffn_up.weight')) dense = Math.max(dense, t.shape[1] ?? 0);
    else if (t.name.endsWith('.ffn_up_exps.weight')) expert = Math.max(expert, t.shape[1] ?? 0);
    else if (t.name.endsWith('.ffn_up_shexp.weight')) shared = Math.max(shared, t.shape[1] ?? 0);
  }
  if (spec.moe && spec.moe.nDenseLeadingLayers === 0 && !spec.tensors?.some((t) => t.name.endsWith('.ffn_up.weight'))) {
    dense = 0; // feed_forward_length of an all-MoE model describes no layer
  }
  return { dense, expert, shared };
}

/** Bytes of the compute buffer llama.cpp reserves (`sched_reserve: ... compute buffer size`). */
export function computeBufferBytes(spec: ModelSpec, ctx: ContextOptions, kv: ComputeInputs): number {
  const nUb = ctx.nUbatch;
  const maskBytesPerCell = ctx.flashAttention ? 2 : 4;
  const hasSwa = kv.swaCellsPerStream !== undefined && Boolean(spec.slidingWindow && spec.swaLayers?.some(Boolean));
  const hasFull = spec.nKvHeadsPerLayer.some((h, il) => h > 0 && !(spec.slidingWindow && spec.swaLayers?.[il]));
  const masks =
    nUb * maskBytesPerCell * ((hasFull || !hasSwa ? kv.cellsPerStream : 0) + (hasSwa ? kv.swaCellsPerStream! : 0));

  const { dense, expert, shared } = ffnDims(spec);
  const e = spec.hiddenSize;
  const denseFloats = dense > 0 ? 3 * dense + 4 * e : 0;
  const moeFloats = spec.moe && expert > 0 ? 2 * spec.moe.nExpertsUsed * (e + expert) : 0;
  // Shared experts run after the routed ones, as a small dense FFN; they don't add to the routed peak.
  const sharedFloats = shared > 0 ? 3 * shared + 4 * e : 0;
  const ffnPeak = nUb * 4 * Math.max(denseFloats, moeFloats, sharedFloats, 4 * e);

  let attnPeak = 0;
  if (spec.mla) {
    // MLA runs attention in the latent space (weight absorption): per head the query exists as
    // nope+rope, absorbed (kv_lora_rank), concatenated with rope (kv_lora_rank + rope), and the
    // output as kv_lora_rank before wv_b — wide enough to beat the FFN peak even with flash attention.
    // Not yet validated against a measured load.
    const m = spec.mla;
    const perHead = (m.qkNopeHeadDim ?? 128) + m.ropeDim + m.kvLoraRank + (m.kvLoraRank + m.ropeDim) + m.kvLoraRank;
    attnPeak = nUb * 4 * (spec.nHeads * perHead + e);
  }
  if (!ctx.flashAttention) {
    const qDim = spec.nHeads * (spec.mla ? spec.mla.kvLoraRank + spec.mla.ropeDim : spec.headDimK);
    const nKvMax = hasFull || !hasSwa ? kv.cellsPerStream : kv.swaCellsPerStream!;
    attnPeak = Math.max(attnPeak, nUb * 4 * (nKvMax * spec.nHeads + e + 4 * qDim));
  }
  return masks + Math.max(ffnPeak, attnPeak);
}

/** Logits buffer: one row of n_vocab floats per sequence (`output buffer size`). */
export function outputBufferBytes(spec: ModelSpec, ctx: ContextOptions): number {
  return Math.max(1, ctx.parallel) * spec.vocabSize * 4;
}

export function estimateMemory(spec: ModelSpec, weights: WeightsInfo, ctx: ContextOptions): MemoryBreakdown {
  const kv = kvLayout(spec, ctx);
  const computeBytes = computeBufferBytes(spec, ctx, kv);
  const recurrent = (spec.recurrentStateBytesPerSeq ?? 0) * Math.max(1, ctx.parallel);
  const otherBytes = outputBufferBytes(spec, ctx) + recurrent;
  const weightsBytes = weights.totalBytes;
  // CPU backend: the repacked / AMX copies sit beside the mmap'ed file (known when the weights' per-tensor
  // types are: a GGUF's own table or a quant recipe; engine-reported sizes alone can't say).
  const repackBytes = ctx.cpuBuffers && ctx.cpuBuffers.mmap !== false ? (weights.cpuCopyBytes?.[cpuFeaturesKey(ctx.cpuBuffers)] ?? 0) : 0;
  return {
    weightsBytes,
    kvBytes: kv.bytes,
    computeBytes,
    otherBytes,
    ...(ctx.cpuBuffers ? { repackBytes } : {}),
    totalBytes: weightsBytes + kv.bytes + computeBytes + otherBytes + repackBytes,
    allocatedCtx: kv.nCtx,
    kvBytesPerToken: kvBytesPerToken(spec, ctx.kvTypeK, ctx.kvTypeV, { swaFull: ctx.swaFull }),
  };
}
