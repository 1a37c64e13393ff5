// What providers report about an engine. Plain data (JSON-serialisable) so the CLI, the views and
// the estimator can consume it; every number carries where it came from.
import type { Provenance } from '../estimator/types';
import type { HttpOptions, RawResponse } from './http';
import type { PromSample } from './prometheus';

export const ENGINE_KINDS = [
  'ollama',
  'llama.cpp',
  'lmstudio',
  'vllm',
  'sglang',
  'mlx-lm',
  'exo',
  'koboldcpp',
  'tabbyapi',
  'localai',
  'jan',
  'openai-compatible',
] as const;
export type EngineKind = (typeof ENGINE_KINDS)[number];

/** A value and its provenance: `engine` = the engine said so, `estimated` = derived by us. */
export interface Fact<T> {
  value: T;
  source: Provenance;
  /** Which request and field (or derivation) produced it, e.g. `GET /api/ps size_vram`. */
  via: string;
}

/** One model the engine can serve (installed / listed), loaded or not. */
export interface ModelEntry {
  name: string;
  loaded: boolean;
  /** Configured context when loaded, else the maximum the engine allows, tokens. */
  contextLength?: number;
  quant?: string;
  sizeBytes?: number;
  arch?: string;
  format?: string;
}

/** A model resident in the engine, with everything the engine tells about its configuration. */
export interface LoadedModel {
  name: string;
  quant?: Fact<string>;
  /** `gguf`, `mlx`, `safetensors`, `exl2` ... */
  format?: string;
  /** GGUF `general.architecture` or the engine's arch label. */
  arch?: string;
  /** Bytes of the weights (file / tensors). */
  weightsBytes?: Fact<number>;
  /** Everything resident for this model (weights + KV + buffers), when the engine reports it (Ollama `size`). */
  residentBytes?: Fact<number>;
  /** Resident bytes in accelerator memory (VRAM / unified GPU allocation). */
  acceleratorBytes?: Fact<number>;
  /** Resident bytes left in system RAM: > 0 means partial offload, the usual "why is it slow". */
  cpuBytes?: Fact<number>;
  /** Context one sequence (slot) can use, tokens. */
  contextPerSlot?: Fact<number>;
  /** Context cells allocated across all slots, tokens. */
  contextTotal?: Fact<number>;
  /** Tokens held in the KV cache now (all slots), where the engine says or we can derive it. */
  contextUsed?: Fact<number>;
  /** Trained context (`<arch>.context_length`). */
  contextTrain?: Fact<number>;
  /** Parallel sequences / slots. */
  parallel?: Fact<number>;
  paramCount?: Fact<number>;
  /** KV cache element type (`f16`, `q8_0`, `Q8` ...). */
  kvCacheType?: Fact<string>;
  /** Bytes the engine reserved for the KV cache, when it says (SGLang `memory_usage.kvcache`). */
  kvCacheBytes?: Fact<number>;
  /** GGUF-keyed metadata (`general.architecture`, `<arch>.block_count` ...) for the estimator's spec builder. */
  metadata?: Record<string, unknown>;
  /** Model file path as the engine reports it (may be relative to the engine's cwd). */
  modelPath?: string;
  /** Hugging Face repo id or similar (vLLM `root`, SGLang `model_path`). */
  repoId?: string;
}

/** One llama.cpp-style slot (parallel sequence). */
export interface SlotInfo {
  id: number;
  nCtx: number;
  processing: boolean;
  /** Tokens in the slot's KV now (llama.cpp `n_prompt_tokens`: prompt + generated so far). */
  tokensInUse?: number;
  /** Model the slot belongs to (llama.cpp router mode, several models per endpoint). */
  model?: string;
}

export interface EngineSnapshot {
  engine: EngineKind;
  version?: string;
  /** Normalised origin, e.g. `http://127.0.0.1:8080`. */
  endpoint: string;
  /** Hardware profile the endpoint runs on (a LAN box is never the laptop's memory). */
  hardwareProfileId?: string;
  /** `Server` response header, when sent. */
  server?: string;
  models: ModelEntry[];
  loaded: LoadedModel[];
  slots?: SlotInfo[];
  /** Share of the KV pool in use, 0–1 (vLLM `kv_cache_usage_perc`, SGLang `token_usage`). */
  kvUsage?: Fact<number>;
  /** KV pool capacity in tokens (vLLM blocks × block size, SGLang `max_total_num_tokens`). */
  kvCapacityTokens?: Fact<number>;
  /** Parsed `/metrics` when the engine exposes it. */
  metrics?: PromSample[];
  /** Non-fatal gaps, e.g. "/slots disabled (start llama-server with --slots)". */
  notes: string[];
}

export interface ProbeResult {
  engine: EngineKind;
  version?: string;
  /** The fingerprint that matched, for `detect --verbose` and debugging. */
  evidence: string;
}

/**
 * Shared by the probes and snapshots of one detection run: HTTP defaults plus a memoised GET so
 * the many probes of one endpoint send each request once.
 */
export interface ProviderContext {
  http: HttpOptions;
  /** Memoised GET. Rejects with ProviderError for transport failures only; any HTTP status resolves. */
  get(endpoint: string, path: string): Promise<RawResponse>;
  /** Un-memoised POST with a JSON body. */
  post(endpoint: string, path: string, json: unknown): Promise<RawResponse>;
}

export interface EngineProvider {
  kind: EngineKind;
  /** Resolves to a result when the endpoint is this engine, undefined when it is not. Never rejects. */
  probe(endpoint: string, ctx: ProviderContext): Promise<ProbeResult | undefined>;
  /** Reads everything the engine tells. Rejects with ProviderError when the core request fails. */
  snapshot(endpoint: string, ctx: ProviderContext): Promise<EngineSnapshot>;
}
