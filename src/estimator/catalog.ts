// The model catalog: cited architecture data (catalog-data.json) turned into ModelSpecs.
// Entries lacking what an estimate needs are kept, marked incomplete with the reason — never guessed.
import data from './catalog-data.json';
import type { ModelSpec } from './types';

/** A raw catalog entry, as stored (snake_case, nulls for unknowns). Only the fields we read are typed. */
export interface RawCatalogEntry {
  id: string;
  name: string;
  family: string;
  gguf_arch: string | null;
  hf_model_type: string | null;
  confidence: 'high' | 'medium' | 'low';
  total_params: number | null;
  active_params: number | null;
  is_moe: boolean | null;
  n_layers: number | null;
  hidden_size: number | null;
  n_heads: number | null;
  n_kv_heads: number | null;
  head_dim: number | null;
  ffn_size: number | null;
  vocab_size: number | null;
  tie_embeddings: boolean | null;
  n_experts: number | null;
  n_experts_active: number | null;
  n_shared_experts: number | null;
  moe: { expert_ffn_size?: number | null; shared_expert_ffn_size?: number | null; first_k_dense?: number | null } | null;
  attention: Record<string, unknown> | null;
  context: { max_position_embeddings: number | null; native: number | null; extended: number | null } | null;
  gguf_files: { quant: string; approx_bytes: number | null; source: string; proxy: boolean }[];
  sources: Record<string, string>;
  notes: string[];
  aliases: string[];
  kv_encoding?: { head_dim: number; kv_heads_per_layer: number[]; swa_layers: boolean[] };
  repos?: ModelRepos;
}

/**
 * Where ready-made weights live on Hugging Face, each with the source that names it: a GGUF repo (for
 * `ollama pull hf.co/<repo>:<QUANT>`, `llama-server -hf <repo>:<QUANT>`, `lms get <repo>`) and an MLX repo
 * (`mlx_lm.server --model <repo>`, one bit width). Only repos a source names; never derived from a pattern.
 */
export interface ModelRepos {
  gguf?: { id: string; quants_seen: string[]; source: string };
  mlx?: { id: string; bits: number; source: string };
}

export interface CatalogModel {
  id: string;
  name: string;
  family: string;
  confidence: 'high' | 'medium' | 'low';
  /** Present when the entry has enough data to estimate memory and speed. */
  spec?: ModelSpec;
  /** Why there is no spec (fields the catalog has no cited value for). */
  missing: string[];
  /** Largest context the model supports: extended (RoPE scaling) if documented, else native. */
  contextMax: number;
  /** Short names: Ollama tags and the like. */
  aliases: string[];
  /** Published GGUF sizes (non-proxy first) to check weight estimates against. */
  ggufSizes: { quant: string; bytes: number; source: string }[];
  sources: Record<string, string>;
  notes: string[];
  repos: ModelRepos;
}

// When the catalog has no verified GGUF arch: Mistral/Devstral/Codestral convert as `llama` (models README);
// otherwise the HF model_type, or the family tag, labels the architecture.
function archOf(e: RawCatalogEntry): string {
  if (e.gguf_arch) return e.gguf_arch;
  if (/^(mistral|devstral|codestral)/.test(e.family)) return 'llama';
  return e.hf_model_type ?? e.family;
}

function attnKind(e: RawCatalogEntry): string {
  return typeof e.attention?.kind === 'string' ? e.attention.kind : 'gqa';
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}

/** Which fields block an estimate: params for weights, layers/heads/head dims for the KV cache. */
function missingFields(e: RawCatalogEntry): string[] {
  const miss: string[] = [];
  if (!num(e.total_params)) miss.push('total_params');
  if (!num(e.n_layers)) miss.push('n_layers');
  if (!num(e.hidden_size)) miss.push('hidden_size');
  const kind = attnKind(e);
  if (kind === 'mla') {
    if (!num(e.attention?.kv_lora_rank) || !num(e.attention?.qk_rope_head_dim)) miss.push('attention.kv_lora_rank');
  } else if (!e.kv_encoding) {
    if (!num(e.n_kv_heads)) miss.push('n_kv_heads');
    if (!num(e.head_dim)) miss.push('head_dim');
  }
  if (kind === 'hybrid_linear' && !num(e.attention?.full_attention_interval)) miss.push('attention.full_attention_interval');
  if (e.is_moe && (!num(e.n_experts) || !num(e.n_experts_active))) miss.push('n_experts');
  if (e.is_moe && !num(e.active_params)) miss.push('active_params');
  if (!num(e.vocab_size)) miss.push('vocab_size');
  return miss;
}

/**
 * Gated DeltaNet state per sequence (llama.cpp keeps it in f32): per linear layer a
 * v_heads × k_dim × v_dim state plus a (conv_kernel − 1)-token conv window over q, k and v.
 */
function deltaNetStateBytes(a: Record<string, unknown>, linearLayers: number): number | undefined {
  const kHeads = num(a.linear_num_key_heads);
  const vHeads = num(a.linear_num_value_heads);
  const kDim = num(a.linear_key_head_dim);
  const vDim = num(a.linear_value_head_dim);
  if (!kHeads || !vHeads || !kDim || !vDim) return undefined;
  const convKernel = num(a.linear_conv_kernel_dim) ?? 4; // Qwen3-Next's linear_conv_kernel_dim
  const ssm = vHeads * kDim * vDim;
  const conv = (convKernel - 1) * (2 * kHeads * kDim + vHeads * vDim);
  return linearLayers * (ssm + conv) * 4;
}

export function specFromCatalog(e: RawCatalogEntry): ModelSpec | undefined {
  if (missingFields(e).length > 0) return undefined;
  const nLayers = e.n_layers!;
  const kind = attnKind(e);
  const a = e.attention ?? {};
  const contextTrain = e.context?.native ?? e.context?.max_position_embeddings ?? 4096;
  const arch = archOf(e);
  const spec: ModelSpec = {
    id: e.id,
    name: e.name,
    arch,
    source: 'catalog',
    totalParams: e.total_params!,
    activeParams: e.is_moe ? e.active_params! : e.total_params!,
    nLayers,
    hiddenSize: e.hidden_size!,
    nHeads: e.n_heads ?? 0,
    nKvHeadsPerLayer: new Array<number>(nLayers).fill(e.n_kv_heads ?? 0),
    headDimK: e.head_dim ?? 0,
    headDimV: e.head_dim ?? 0,
    vocabSize: e.vocab_size!,
    contextTrain,
  };
  // Tensor-layout hints for weights without a file (weights.ts synthesises the tensor table from these).
  if (num(e.ffn_size)) spec.ffnSize = e.ffn_size!;
  if (typeof e.tie_embeddings === 'boolean') spec.tiedEmbeddings = e.tie_embeddings;
  if (e.is_moe) {
    spec.moe = {
      nExperts: e.n_experts!,
      nExpertsUsed: e.n_experts_active!,
      nSharedExperts: e.n_shared_experts ?? 0,
      nDenseLeadingLayers: e.moe?.first_k_dense ?? 0,
    };
    if (num(e.moe?.expert_ffn_size)) spec.moe.expertFfnSize = e.moe!.expert_ffn_size!;
    if (num(e.moe?.shared_expert_ffn_size)) spec.moe.sharedExpertFfnSize = e.moe!.shared_expert_ffn_size!;
  }
  if (kind === 'mla') {
    // llama.cpp's MLA cache: one "head" holding the latent (kv_lora_rank) + the rope key; V is a view of it.
    const kvLoraRank = num(a.kv_lora_rank)!;
    const ropeDim = num(a.qk_rope_head_dim)!;
    spec.mla = { kvLoraRank, ropeDim };
    if (typeof a.q_lora_rank === 'number') spec.mla.qLoraRank = a.q_lora_rank;
    if (num(a.qk_nope_head_dim)) spec.mla.qkNopeHeadDim = num(a.qk_nope_head_dim)!;
    if (num(a.v_head_dim)) spec.mla.vHeadDim = num(a.v_head_dim)!;
    spec.nKvHeadsPerLayer = new Array<number>(nLayers).fill(1);
    spec.headDimK = kvLoraRank + ropeDim;
    spec.headDimV = kvLoraRank;
  } else if (kind === 'sliding_window_hybrid') {
    spec.slidingWindow = num(a.sliding_window);
    const globals = Array.isArray(a.global_layer_indices) ? new Set(a.global_layer_indices as number[]) : undefined;
    // Gemma 3 lists its global layers; gpt-oss alternates sliding/full starting with sliding.
    spec.swaLayers = Array.from({ length: nLayers }, (_, i) => (globals ? !globals.has(i) : i % 2 === 0));
  } else if (kind === 'hybrid_linear') {
    const interval = num(a.full_attention_interval)!;
    // Full attention on every `interval`-th layer (3, 7, 11, ... for interval 4); the rest are linear.
    spec.nKvHeadsPerLayer = Array.from({ length: nLayers }, (_, i) => ((i + 1) % interval === 0 ? e.n_kv_heads! : 0));
    const linear = spec.nKvHeadsPerLayer.filter((h) => h === 0).length;
    const state = deltaNetStateBytes(a, linear);
    if (state !== undefined) spec.recurrentStateBytesPerSeq = state;
  }
  if (e.kv_encoding) {
    spec.nKvHeadsPerLayer = [...e.kv_encoding.kv_heads_per_layer];
    spec.headDimK = e.kv_encoding.head_dim;
    spec.headDimV = e.kv_encoding.head_dim;
    spec.swaLayers = [...e.kv_encoding.swa_layers];
    spec.slidingWindow = num(a.sliding_window);
  }
  return spec;
}

function toModel(e: RawCatalogEntry): CatalogModel {
  const spec = specFromCatalog(e);
  const ctx = e.context;
  const contextMax = Math.max(ctx?.extended ?? 0, ctx?.native ?? 0, ctx?.max_position_embeddings ?? 0) || spec?.contextTrain || 4096;
  const ggufSizes = e.gguf_files
    .filter((f) => !f.proxy && typeof f.approx_bytes === 'number')
    .map((f) => ({ quant: f.quant, bytes: f.approx_bytes!, source: f.source }));
  return {
    id: e.id,
    name: e.name,
    family: e.family,
    confidence: e.confidence,
    ...(spec ? { spec } : {}),
    missing: missingFields(e),
    contextMax,
    aliases: e.aliases,
    ggufSizes,
    sources: e.sources,
    notes: e.notes,
    repos: e.repos ?? {},
  };
}

const RAW: RawCatalogEntry[] = (data as unknown as { models: RawCatalogEntry[] }).models;
let models: CatalogModel[] | undefined;

/** All catalog models, in catalog order. */
export function catalogModels(): readonly CatalogModel[] {
  models ??= RAW.map(toModel);
  return models;
}

export function rawCatalogEntries(): readonly RawCatalogEntry[] {
  return RAW;
}

/** Exact HF repo id, case-insensitive. */
export function findCatalogModel(id: string): CatalogModel | undefined {
  const key = id.trim().toLowerCase();
  return catalogModels().find((m) => m.id.toLowerCase() === key);
}
