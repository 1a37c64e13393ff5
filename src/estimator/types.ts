// The estimator's shared vocabulary. Plain data only: no I/O, no `vscode`.
// Every other estimator module speaks in these shapes; providers and views convert to and from them.

/** Where a number came from, so the UI can say "engine-reported" vs "estimated". */
export type Provenance = 'gguf' | 'engine' | 'catalog' | 'estimated' | 'measured' | 'user';

/** KV-cache element types llama.cpp accepts for `--cache-type-k/-v`. */
export type KvType = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' | 'q4_1' | 'q5_0' | 'q5_1' | 'iq4_nl';

/** One tensor as listed in a GGUF tensor table (exact weights come from these). */
export interface TensorInfo {
  name: string;
  /** ggml type id (GGML_TYPE_*), e.g. 0 = F32, 1 = F16, 12 = Q4_K. */
  type: number;
  /** Dimensions, innermost first, as GGUF stores them. */
  shape: number[];
  /** Byte offset of the tensor's data in the file, when read from a GGUF header (decides llama.cpp's CPU_Mapped range). */
  offset?: number;
}

/** Mixture-of-experts layout. Capacity needs all experts; decode reads only the active ones. */
export interface MoeSpec {
  nExperts: number;
  nExpertsUsed: number;
  nSharedExperts: number;
  /** Leading dense (non-MoE) layers, e.g. DeepSeek's first_k_dense. */
  nDenseLeadingLayers: number;
  /** Intermediate size of one routed expert (`expert_feed_forward_length`). */
  expertFfnSize?: number;
  /** Intermediate size of the shared expert(s) block (`expert_shared_feed_forward_length`). */
  sharedExpertFfnSize?: number;
  /** Per layer: true when the layer routes experts (length nLayers). Absent: every layer after the dense leading
   * ones. Hybrids that interleave separate block types (Nemotron-H: Mamba-2 / MoE / attention) need it. */
  layers?: boolean[];
}

/** Multi-head latent attention (DeepSeek V2/V3, Kimi K2): KV stores a compressed latent. */
export interface MlaSpec {
  kvLoraRank: number;
  ropeDim: number;
  /** 0 when queries are not low-rank (DeepSeek-V2-Lite). */
  qLoraRank?: number;
  /** Per-head non-rotary query/key dim and value dim (DeepSeek-V3: 128, 128). */
  qkNopeHeadDim?: number;
  vHeadDim?: number;
}

/**
 * Architecture of a model, as needed for memory and speed. Built from a GGUF header,
 * from an engine's model info (Ollama `model_info` carries the same GGUF keys) or from the catalog.
 */
export interface ModelSpec {
  /** Catalog id (HF repo id), engine model name, or file name. */
  id: string;
  name: string;
  /** GGUF `general.architecture`, e.g. `llama`, `qwen3moe`, `gemma3`, `deepseek2`, `gpt-oss`, `qwen3next`. */
  arch: string;
  source: Provenance;
  totalParams: number;
  /** Parameters touched per decoded token (= totalParams for dense models). */
  activeParams: number;
  nLayers: number;
  hiddenSize: number;
  nHeads: number;
  /** KV heads per layer (length nLayers). 0 for a layer that keeps no KV (recurrent / linear attention). */
  nKvHeadsPerLayer: number[];
  headDimK: number;
  headDimV: number;
  vocabSize: number;
  /** Trained context (`<arch>.context_length`). */
  contextTrain: number;
  /** Sliding-window size in tokens, if any layer uses one. */
  slidingWindow?: number;
  /** Per layer: true when the layer uses sliding-window attention (length nLayers). */
  swaLayers?: boolean[];
  mla?: MlaSpec;
  moe?: MoeSpec;
  /** Constant per-sequence state of recurrent / linear-attention layers (Qwen3-Next, Mamba), bytes. */
  recurrentStateBytesPerSeq?: number;
  /** Exact tensor table when read from a GGUF file. */
  tensors?: TensorInfo[];
  /** Dense FFN intermediate size (for MoE: the leading dense layers' FFN). Used to lay out tensors without a file. */
  ffnSize?: number;
  /** Output head shares the token-embedding matrix. */
  tiedEmbeddings?: boolean;
}

/** Weights as they sit in memory. */
export interface WeightsInfo {
  /** Quant label shown to users, e.g. `Q4_K_M`, `MXFP4`, `MLX-4bit`. */
  quant: string;
  /** Bytes of all weight tensors (what a GPU backend holds). */
  totalBytes: number;
  /** Bytes read per decoded token: dense tensors + active experts (+ one embedding row). */
  activeBytes: number;
  source: Provenance;
  /**
   * GGUF weights only: bytes llama.cpp's CPU backend copies into CPU_REPACK / AMX buffers, by
   * `cpuFeaturesKey(features)` (see cpu-buffers.ts). Absent when the per-tensor types are unknown.
   */
  cpuCopyBytes?: Record<string, number>;
}

/** How the engine is asked to allocate context. Mirrors llama.cpp's knobs. */
export interface ContextOptions {
  /** Tokens per sequence the user wants (llama.cpp `-c` ÷ slots; Ollama `num_ctx`). */
  ctxPerSeq: number;
  /** Parallel sequences / slots (`-np`, `OLLAMA_NUM_PARALLEL`). */
  parallel: number;
  kvTypeK: KvType;
  kvTypeV: KvType;
  flashAttention: boolean;
  /** llama.cpp `-ub` (physical batch), default 512. */
  nUbatch: number;
  /** Unified KV buffer shared by all sequences (`--kv-unified`). */
  kvUnified: boolean;
  /** `--swa-full`: sliding-window layers keep the full context. */
  swaFull: boolean;
  /**
   * Weights run on llama.cpp's CPU backend with these features: its CPU_REPACK / AMX buffers copy the
   * weights they accelerate (see cpu-buffers.ts). Absent on GPU backends, which never repack.
   */
  cpuBuffers?: import('./cpu-buffers').CpuBufferFeatures;
}

export interface MemoryBreakdown {
  weightsBytes: number;
  kvBytes: number;
  /** Compute (scratch) buffers, llama.cpp `sched_reserve` compute buffer. */
  computeBytes: number;
  /** Output logits buffer, recurrent state and other fixed costs. */
  otherBytes: number;
  /**
   * CPU backend only (present when `ContextOptions.cpuBuffers` is set): bytes llama.cpp copies into its
   * CPU_REPACK and AMX buffers on top of the mmap'ed weights. Counted once in `totalBytes`.
   */
  repackBytes?: number;
  totalBytes: number;
  /** Context cells llama.cpp allocates in total (padded, all sequences). */
  allocatedCtx: number;
  /** KV bytes each additional token of context costs (all growing layers). */
  kvBytesPerToken: number;
}

export interface HardwareProfile {
  id: string;
  name: string;
  /** Total memory the accelerator can see (VRAM, or unified memory), bytes. */
  capacityBytes: number;
  /** Share of capacity a model may use by default (Apple GPUs: ~0.75 of unified memory). */
  usableFraction: number;
  /** Peak memory bandwidth, GB/s (1e9 bytes). */
  bandwidthGBps: number;
  /** Measured sustained bandwidth where published, GB/s. */
  measuredBandwidthGBps?: number;
  unifiedMemory: boolean;
  kind: 'apple' | 'nvidia' | 'amd' | 'cpu' | 'other';
  /** Where the numbers come from. */
  source?: string;
}

export interface SpeedEstimate {
  /** Predicted single-stream decode tok/s at the given depth (bandwidth-bound regime). */
  decodeTokPerSec: number;
  /** Roofline: bandwidth ÷ bytes per token, the ceiling no stack beats. */
  ceilingTokPerSec: number;
  /** Bytes read per decoded token: active weights + KV at this depth. */
  bytesPerToken: number;
  /** Predicted prefill tok/s (compute-bound regime), when estimable. */
  prefillTokPerSec?: number;
  /** Where the measured decode rate is expected to fall (cross-validated error band), and why. */
  decodeRange?: SpeedRange;
  /** The same for prefill (±50 % where no published prompt-processing runs back it). */
  prefillRange?: SpeedRange;
  /** Serving engine the prediction is for, and its kernel stack (`llama.cpp/cuda`, `mlx-lm/metal`, …). */
  engine?: string;
  stack?: string;
  /** Kernel maturity of this engine on this architecture, in words, when it lowers the prediction. */
  maturityNote?: string;
}

/** A band around a predicted rate: low–high tok/s and the evidence it comes from. */
export interface SpeedRange {
  low: number;
  high: number;
  basis: string;
}
