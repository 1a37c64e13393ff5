// From what an engine reports about a loaded model to Headroom's memory and speed estimate. Pure.
// Spec: the model's own GGUF header (read by the Session for local engines), else the engine's GGUF-keyed
// metadata (Ollama /api/show), else the catalog by name. Weights: exact from the tensor table, else the
// engine's byte count, else the quant recipe. KV and buffers: always ours. Same rules as `headroom status`.
import { resolveModelName } from '../estimator/model-names';
import { specFromGgufMetadata } from '../estimator/gguf-spec';
import { findHardware, type HardwareSpec } from '../estimator/hardware';
import { servingEngineFor } from '../estimator/speed-model';
import { defaultContextOptions, estimateMemory } from '../estimator/memory';
import { estimateSpeed } from '../estimator/speed';
import type { ContextOptions, MemoryBreakdown, ModelSpec, SpeedEstimate, WeightsInfo } from '../estimator/types';
import { quantLabelFromTensors, weightsForQuant, weightsFromTensors } from '../estimator/weights';
import type { TensorInfo } from '../estimator/types';
import { kvTypeOf } from '../providers/estimate';
import type { LoadedModel } from '../providers/types';
import { defaultQuantFor } from '../estimator/quant-recipes';

export interface LoadedEstimate {
  spec: ModelSpec;
  /** Where the spec came from: the model file, the engine's metadata or the catalog. */
  specSource: 'gguf' | 'engine' | 'catalog';
  quant: string;
  weights: WeightsInfo;
  ctx: ContextOptions;
  memory: MemoryBreakdown;
  /** Catalog's extended max context, when known (else the trained context). */
  contextMax: number;
}


/** A GGUF header read from the model's file (local engines only). */
export interface GgufFile {
  metadata: Record<string, unknown>;
  tensors: TensorInfo[];
}

function specFor(lm: LoadedModel, file?: GgufFile): { spec: ModelSpec; source: 'gguf' | 'engine' | 'catalog'; quant?: string; contextMax?: number } | undefined {
  if (file) {
    try {
      return { spec: specFromGgufMetadata(file.metadata, file.tensors, lm.name), source: 'gguf' };
    } catch {
      // An unusual file: fall back to what the engine says.
    }
  }
  if (lm.metadata && Object.keys(lm.metadata).length > 0) {
    try {
      return { spec: specFromGgufMetadata(lm.metadata, undefined, lm.name), source: 'engine' };
    } catch {
      // Partial metadata (e.g. an encoder): fall through to the catalog.
    }
  }
  for (const name of [lm.repoId, lm.name, lm.modelPath?.split(/[\\/]/).pop()]) {
    if (!name) continue;
    try {
      const r = resolveModelName(name);
      if (r.model.spec) return { spec: r.model.spec, source: 'catalog', quant: r.quant, contextMax: r.model.contextMax };
    } catch {
      // Unknown name: try the next.
    }
  }
  return undefined;
}

/** Estimate for one loaded model, or undefined when neither the engine nor the catalog describes its shape. */
export function estimateLoaded(lm: LoadedModel, file?: GgufFile): LoadedEstimate | undefined {
  const found = specFor(lm, file);
  if (!found) return undefined;
  const { spec } = found;
  if (found.source === 'gguf' && file) {
    const ft = file.metadata['general.file_type'];
    const weights = weightsFromTensors(spec, quantLabelFromTensors(file.tensors, typeof ft === 'number' ? ft : undefined));
    return finish(lm, spec, found, weights.quant, weights);
  }
  const quant = lm.quant?.value ?? found.quant ?? defaultQuantFor(spec);
  let weights: WeightsInfo;
  try {
    weights = weightsForQuant(spec, quant);
  } catch {
    weights = weightsForQuant(spec, defaultQuantFor(spec));
  }
  if (lm.weightsBytes && lm.weightsBytes.value > 0) {
    // The engine's byte count is the truth for capacity; active bytes keep our dense/expert ratio.
    const ratio = weights.totalBytes > 0 ? weights.activeBytes / weights.totalBytes : 1;
    weights = { quant, totalBytes: lm.weightsBytes.value, activeBytes: Math.round(lm.weightsBytes.value * ratio), source: 'engine' };
  }
  return finish(lm, spec, found, quant, weights);
}

function finish(lm: LoadedModel, spec: ModelSpec, found: NonNullable<ReturnType<typeof specFor>>, quant: string, weights: WeightsInfo): LoadedEstimate {
  // Same mapping as `headroom status` (Ollama `q8_0`, vLLM `fp8` → ~1 byte per element, unknown → f16).
  const kv = kvTypeOf(lm.kvCacheType?.value);
  const perSeq = lm.contextPerSlot?.value ?? Math.min(4096, spec.contextTrain);
  const parallel = Math.max(1, lm.parallel?.value ?? 1);
  // An engine-stated total wins: llama.cpp's auto -np shares ONE slot-sized cache (unified), a vLLM/SGLang
  // pool holds its token capacity. Same rule as `headroom status`.
  const cells = lm.contextTotal?.value ?? perSeq * parallel;
  const kvUnified = parallel > 1 && cells === perSeq;
  const ctx = defaultContextOptions({
    // The estimator allocates ctxPerSeq × parallel cells in both layouts.
    ctxPerSeq: Math.ceil(cells / parallel),
    parallel,
    kvUnified,
    kvTypeK: kv,
    kvTypeV: kv,
  });
  return {
    spec,
    specSource: found.source,
    quant,
    weights,
    ctx,
    memory: estimateMemory(spec, weights, ctx),
    contextMax: found.contextMax ?? lm.contextTrain?.value ?? spec.contextTrain,
  };
}

/**
 * The speed model for a loaded model at `depth`, for the engine serving it (its kernels) and, when the engine
 * keeps part of the model in system RAM, that share decoding at the CPU's bandwidth.
 */
export function speedAt(e: LoadedEstimate, hw: HardwareSpec, depth: number, engine?: string, cpuShare?: number): SpeedEstimate {
  const share = cpuShare !== undefined && cpuShare > 0.001 && hw.backend !== 'cpu' ? Math.min(1, cpuShare) : 0;
  return estimateSpeed(e.spec, e.weights, hw, {
    depth,
    kvTypeK: e.ctx.kvTypeK,
    kvTypeV: e.ctx.kvTypeV,
    ...(engine ? { engine: servingEngineFor(engine) } : {}),
    ...(share > 0 ? { offload: { cpu: findHardware('cpu-ddr5')!, layerShare: share } } : {}),
  });
}
