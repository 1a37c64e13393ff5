// KV cache sizing as llama.cpp allocates it (llama_kv_cache / llama_kv_cache_iswa / MLA / hybrid).
// Per layer and cell: K row = n_kv_heads × head_dim_k elements, V row = n_kv_heads × head_dim_v, each stored
// in whole blocks of the cache type. MLA stores one latent row (kv_lora_rank + rope dim) and no V.
// Sliding-window layers keep only pad256(min(cells, n_swa × (unified ? n_seq : 1) + n_ubatch)) cells.
import type { ContextOptions, KvType, ModelSpec } from './types';
import { ggmlTypeByName } from './ggml-types';

/** llama.cpp pads the context (and SWA cache) to a multiple of 256 cells. */
export const CTX_PAD = 256;

export function pad(n: number, to = CTX_PAD): number {
  return Math.ceil(n / to) * to;
}

/** Bytes of `elements` values stored as a KV cache type (whole blocks). */
export function kvRowBytes(type: KvType, elements: number): number {
  const t = ggmlTypeByName(type);
  if (!t) throw new Error(`unknown KV type ${type}`);
  return Math.ceil(elements / t.blockSize) * t.bytesPerBlock;
}

/** K and V bytes of one cell in layer `il` (0 for a layer that keeps no KV). */
export function layerCellBytes(spec: ModelSpec, il: number, kvTypeK: KvType, kvTypeV: KvType): { k: number; v: number } {
  const heads = spec.nKvHeadsPerLayer[il] ?? 0;
  if (heads === 0) return { k: 0, v: 0 };
  if (spec.mla) return { k: kvRowBytes(kvTypeK, spec.mla.kvLoraRank + spec.mla.ropeDim), v: 0 };
  return { k: kvRowBytes(kvTypeK, heads * spec.headDimK), v: kvRowBytes(kvTypeV, heads * spec.headDimV) };
}

function isSwa(spec: ModelSpec, il: number): boolean {
  return Boolean(spec.slidingWindow && spec.swaLayers?.[il]);
}

/**
 * KV bytes each additional token of context costs: the layers whose cache grows with context
 * (full-attention layers; sliding-window layers too when `swaFull`). Recurrent layers never grow.
 */
export function kvBytesPerToken(spec: ModelSpec, kvTypeK: KvType, kvTypeV: KvType, opts: { swaFull?: boolean } = {}): number {
  let sum = 0;
  for (let il = 0; il < spec.nLayers; il++) {
    if (isSwa(spec, il) && !opts.swaFull) continue;
    const c = layerCellBytes(spec, il, kvTypeK, kvTypeV);
    sum += c.k + c.v;
  }
  return sum;
}

export interface KvLayout {
  /** Context cells in total (padded, all sequences): llama.cpp `n_ctx`. */
  nCtx: number;
  /** KV streams: 1 when unified, else one per sequence. */
  nStreams: number;
  /** Cells per stream in full-attention layers. */
  cellsPerStream: number;
  /** Cells per stream in sliding-window layers (= cellsPerStream without SWA or with swaFull). */
  swaCellsPerStream: number;
  kBytes: number;
  vBytes: number;
  bytes: number;
}

/** How many cells llama.cpp allocates and what they cost. */
export function kvLayout(spec: ModelSpec, ctx: ContextOptions): KvLayout {
  const nSeq = Math.max(1, Math.floor(ctx.parallel));
  const nCtx = pad(Math.max(1, ctx.ctxPerSeq) * nSeq);
  const nStreams = ctx.kvUnified ? 1 : nSeq;
  const cellsPerStream = Math.floor(nCtx / nStreams);
  const hasSwa = Boolean(spec.slidingWindow && spec.swaLayers?.some(Boolean));
  const swaCellsPerStream =
    hasSwa && !ctx.swaFull
      ? Math.min(cellsPerStream, pad(spec.slidingWindow! * (ctx.kvUnified ? nSeq : 1) + ctx.nUbatch))
      : cellsPerStream;
  let kBytes = 0;
  let vBytes = 0;
  for (let il = 0; il < spec.nLayers; il++) {
    const c = layerCellBytes(spec, il, ctx.kvTypeK, ctx.kvTypeV);
    const cells = (isSwa(spec, il) ? swaCellsPerStream : cellsPerStream) * nStreams;
    kBytes += c.k * cells;
    vBytes += c.v * cells;
  }
  return { nCtx, nStreams, cellsPerStream, swaCellsPerStream, kBytes, vBytes, bytes: kBytes + vBytes };
}
