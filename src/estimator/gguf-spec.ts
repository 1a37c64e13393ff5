// GGUF metadata → ModelSpec. One function for both a GGUF header and Ollama's /api/show `model_info`
// (which carries the same keys, with tokenizer arrays dropped or nulled). Layer patterns that llama.cpp
// hard-codes per architecture (sliding-window and recurrent layers) are reproduced here, because the
// file doesn't always say them and the KV cache depends on them.
import type { MlaSpec, MoeSpec, ModelSpec, TensorInfo } from './types';
import { tensorElements } from './ggml-types';

export class SpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecError';
  }
}

/** llama.cpp's default sliding-window pattern per architecture (`load_swa_pattern(ml, n, dense_first)`). */
const SWA_PATTERN: Record<string, { n: number; denseFirst: boolean }> = {
  gemma2: { n: 2, denseFirst: false },
  gemma3: { n: 6, denseFirst: false },
  'gemma-embedding': { n: 6, denseFirst: false },
  gemma3n: { n: 5, denseFirst: false },
  'gpt-oss': { n: 2, denseFirst: false },
  gemma4: { n: 6, denseFirst: false }, // real files carry the per-layer array; this is the fallback for model_info
  cohere2: { n: 4, denseFirst: false },
  llama4: { n: 4, denseFirst: false },
  olmo2: { n: 4, denseFirst: false },
  exaone4: { n: 4, denseFirst: false },
  afmoe: { n: 4, denseFirst: false },
  smallthinker: { n: 4, denseFirst: true },
  plamo3: { n: 8, denseFirst: false },
};

const MAX_LAYERS = 10_000;
const MAX_DIM = 1 << 20;

/** Hybrid linear-attention architectures: recurrent layers unless (i+1) % interval == 0 (default 4). */
const HYBRID_RECURRENT = new Set(['qwen3next', 'qwen35', 'qwen35moe']);

export function specFromGgufMetadata(meta: Record<string, unknown>, tensors: TensorInfo[] | undefined, id: string): ModelSpec {
  const arch = str(meta['general.architecture']);
  if (!arch) throw new SpecError(`${id}: metadata has no general.architecture`);
  const k = (name: string): unknown => meta[`${arch}.${name}`];
  const byName = new Map((tensors ?? []).map((t) => [t.name, t]));

  const nLayers = int(k('block_count'));
  const hiddenSize = int(k('embedding_length'));
  if (!nLayers || !hiddenSize) throw new SpecError(`${id}: metadata lacks ${arch}.block_count / embedding_length`);
  // Hostile or corrupt values must not drive per-layer allocations or nonsense estimates.
  if (nLayers > MAX_LAYERS || hiddenSize > MAX_DIM) {
    throw new SpecError(`${id}: implausible ${arch}.block_count ${nLayers} / embedding_length ${hiddenSize}`);
  }
  const headsArr = perLayer(k('attention.head_count'), nLayers);
  const nHeads = Math.max(0, ...headsArr);
  if (!nHeads) throw new SpecError(`${id}: metadata lacks ${arch}.attention.head_count`);
  if (nHeads > MAX_DIM) throw new SpecError(`${id}: implausible ${arch}.attention.head_count ${nHeads}`);
  let kvHeads = k('attention.head_count_kv') === undefined ? headsArr.slice() : perLayer(k('attention.head_count_kv'), nLayers);
  let headDimK = int(k('attention.key_length')) || Math.floor(hiddenSize / nHeads);
  let headDimV = int(k('attention.value_length')) || headDimK;

  // Hybrid linear attention: only every `interval`-th layer keeps a KV cache.
  let recurrentStateBytesPerSeq: number | undefined;
  const recurrentArr = k('attention.recurrent_layers');
  if (HYBRID_RECURRENT.has(arch) || Array.isArray(recurrentArr)) {
    const interval = int(k('full_attention_interval')) || 4;
    const recurrent = Array.isArray(recurrentArr)
      ? recurrentArr.map(Boolean)
      : Array.from({ length: nLayers }, (_, i) => (i + 1) % interval !== 0);
    kvHeads = kvHeads.map((h, i) => (recurrent[i] ? 0 : h));
    const nRecurrent = recurrent.filter(Boolean).length;
    recurrentStateBytesPerSeq = nRecurrent * ssmStateBytesPerLayer(k);
  } else if (int(k('ssm.state_size')) && !k('attention.head_count_kv')) {
    // Pure state-space model (Mamba): no KV at all.
    kvHeads = kvHeads.map(() => 0);
    recurrentStateBytesPerSeq = nLayers * ssmStateBytesPerLayer(k);
  }

  // Sliding window.
  const slidingWindow = int(k('attention.sliding_window')) || undefined;
  let swaLayers: boolean[] | undefined;
  if (slidingWindow) {
    const patArr = k('attention.sliding_window_pattern');
    if (Array.isArray(patArr)) swaLayers = Array.from({ length: nLayers }, (_, i) => Boolean(patArr[i]));
    else {
      const def = SWA_PATTERN[arch];
      const n = int(patArr) || def?.n;
      const denseFirst = def?.denseFirst ?? false;
      if (n !== undefined) {
        swaLayers = Array.from({ length: nLayers }, (_, il) => (n === 0 ? true : denseFirst ? il % n !== 0 : il % n < n - 1));
      }
      // phi3-style: a window with no pattern means every layer slides.
      else swaLayers = Array.from({ length: nLayers }, () => true);
    }
  }

  // Gemma 4: SWA layers use smaller heads than global ones. ModelSpec has one head dim, so store the SWA
  // dim and scale the global layers' head count by the ratio (KV bytes = heads × dim are then exact).
  const kSwa = int(k('attention.key_length_swa'));
  const vSwa = int(k('attention.value_length_swa')) || kSwa;
  if (swaLayers && kSwa && kSwa < headDimK && headDimK % kSwa === 0 && headDimV / vSwa === headDimK / kSwa) {
    const ratio = headDimK / kSwa;
    kvHeads = kvHeads.map((h, il) => (swaLayers![il] ? h : h * ratio));
    headDimK = kSwa;
    headDimV = vSwa;
  }
  // Gemma 3n/4: the last `shared_kv_layers` layers reuse earlier layers' KV and allocate none.
  const sharedKv = int(k('attention.shared_kv_layers'));
  if (sharedKv > 0 && sharedKv < nLayers) kvHeads = kvHeads.map((h, il) => (il >= nLayers - sharedKv ? 0 : h));

  // MLA (DeepSeek-V2/V3, Kimi K2, GLM-4.7-Flash): the cache holds the compressed latent + rope key.
  // llama.cpp uses the latent cache only when the file says key_length_mla (current conversions); older
  // DeepSeek GGUFs without it run as plain MHA over decompressed K/V, and the generic formula applies.
  let mla: MlaSpec | undefined;
  const kvLoraRank = int(k('attention.kv_lora_rank'));
  const latentCache = int(k('attention.key_length_mla')) > 0 || headDimK === kvLoraRank + (int(k('rope.dimension_count')) || 64);
  if (kvLoraRank && latentCache) {
    const ropeDim = int(k('rope.dimension_count')) || 64;
    const keyMla = int(k('attention.key_length_mla'));
    const qkNope = keyMla ? keyMla - ropeDim : headDimK === kvLoraRank + ropeDim ? undefined : headDimK - ropeDim;
    mla = {
      kvLoraRank,
      ropeDim,
      qLoraRank: int(k('attention.q_lora_rank')),
      qkNopeHeadDim: qkNope,
      vHeadDim: int(k('attention.value_length_mla')) || (headDimV !== kvLoraRank ? headDimV : undefined),
    };
  }

  // Mixture of experts.
  let moe: MoeSpec | undefined;
  const nExperts = int(k('expert_count'));
  if (nExperts > 1) {
    moe = {
      nExperts,
      nExpertsUsed: int(k('expert_used_count')) || 1,
      nSharedExperts: int(k('expert_shared_count')),
      nDenseLeadingLayers: int(k('leading_dense_block_count')),
      expertFfnSize: int(k('expert_feed_forward_length')) || undefined,
      sharedExpertFfnSize: int(k('expert_shared_feed_forward_length')) || undefined,
    };
  }

  const tokenEmbd = byName.get('token_embd.weight');
  const vocabSize =
    int(k('vocab_size')) || arrayLength(meta['tokenizer.ggml.tokens']) || (tokenEmbd ? (tokenEmbd.shape[1] ?? 0) : 0);
  const tiedEmbeddings = tensors && tensors.length > 0 ? !byName.has('output.weight') : undefined;
  const ffnSize = firstInt(k('feed_forward_length'));

  // Without a tensor table (Ollama model_info) the parameter count is all we get; active params then need the catalog.
  const counted = int(meta['general.parameter_count']);
  const { totalParams, activeParams } =
    tensors && tensors.length > 0 ? paramsFromTensors(tensors, moe) : { totalParams: counted, activeParams: moe ? 0 : counted };

  const spec: ModelSpec = {
    id,
    name: str(meta['general.name']) || id,
    arch,
    source: tensors && tensors.length > 0 ? 'gguf' : 'engine',
    totalParams,
    activeParams,
    nLayers,
    hiddenSize,
    nHeads,
    nKvHeadsPerLayer: kvHeads,
    headDimK,
    headDimV,
    vocabSize,
    contextTrain: int(k('context_length')),
  };
  if (slidingWindow) spec.slidingWindow = slidingWindow;
  if (swaLayers) spec.swaLayers = swaLayers;
  if (mla) spec.mla = mla;
  if (moe) spec.moe = moe;
  if (recurrentStateBytesPerSeq) spec.recurrentStateBytesPerSeq = recurrentStateBytesPerSeq;
  if (tensors && tensors.length > 0) spec.tensors = tensors;
  if (ffnSize) spec.ffnSize = ffnSize;
  if (tiedEmbeddings !== undefined) spec.tiedEmbeddings = tiedEmbeddings;
  return spec;
}

/** Is this tensor one of the routed experts (stacked 3-D `*_exps`)? */
export function isExpertTensor(name: string): boolean {
  return /_exps\b|_exps\./.test(name);
}

/** Parameter counts from a tensor table: all tensors, and what one token touches (dense + active experts). */
export function paramsFromTensors(tensors: readonly TensorInfo[], moe: MoeSpec | undefined): { totalParams: number; activeParams: number } {
  let total = 0;
  let expert = 0;
  for (const t of tensors) {
    const n = tensorElements(t.shape);
    total += n;
    if (isExpertTensor(t.name)) expert += n;
  }
  const share = moe ? moe.nExpertsUsed / moe.nExperts : 1;
  return { totalParams: total, activeParams: Math.round(total - expert + expert * share) };
}

/**
 * Recurrent state per layer per sequence, f32 (llama.cpp `n_embd_r` conv state + `n_embd_s` SSM state):
 * ((d_conv − 1) × (d_inner + 2·n_group·d_state) + d_state × d_inner) × 4 B.
 */
function ssmStateBytesPerLayer(k: (name: string) => unknown): number {
  const dConv = int(k('ssm.conv_kernel'));
  const dInner = int(k('ssm.inner_size'));
  const dState = int(k('ssm.state_size'));
  const nGroup = int(k('ssm.group_count'));
  const r = (dConv > 0 ? dConv - 1 : 0) * (dInner + 2 * nGroup * dState);
  const s = dState * dInner;
  return (r + s) * 4;
}

function perLayer(v: unknown, n: number): number[] {
  if (Array.isArray(v)) return Array.from({ length: n }, (_, i) => int(v[i]));
  const x = int(v);
  return Array.from({ length: n }, () => x);
}

function int(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.floor(v);
  if (typeof v === 'bigint' && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  return 0;
}

function firstInt(v: unknown): number {
  if (Array.isArray(v)) return Math.max(0, ...v.map(int));
  return int(v);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function arrayLength(v: unknown): number {
  if (Array.isArray(v)) return v.length;
  if (typeof v === 'object' && v !== null && typeof (v as { length?: unknown }).length === 'number') {
    return (v as { length: number }).length;
  }
  return 0;
}
